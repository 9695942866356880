using System.Reflection;
using CircuitDsl.Facade;

namespace CircuitDsl.Cli.Application;

/// <summary>A model spec's <see cref="TrainedOnAttribute"/>: how its weights were made and where they are.</summary>
internal static class ModelCard
{
    /// <summary>The model card, if the spec has one.</summary>
    public static TrainedOnAttribute? TrainedOn(this ModelEntry model) => model.Type.GetCustomAttribute<TrainedOnAttribute>();

    /// <summary>The card of a model composed from others, if the spec has one.</summary>
    public static ComposedFromAttribute? ComposedFrom(this ModelEntry model) => model.Type.GetCustomAttribute<ComposedFromAttribute>();

    /// <summary>
    /// The bundled weights folder the model card names for each of its seeds, in the card's order (a composed model's
    /// one folder).
    /// </summary>
    /// <exception cref="UsageException">The spec names no weights folder.</exception>
    public static IReadOnlyList<SeedWeights> BundledWeights(this ModelEntry model) =>
        model.TrainedOn() is { Weights.Length: > 0 } card
            ? [.. card.AllSeeds.Select(seed => new SeedWeights(seed, card.WeightsDirectory(model.Type, seed)))]
            : model.ComposedFrom() is { Weights.Length: > 0 } composed ? [new SeedWeights(0, composed.WeightsDirectory(model.Type))]
            : throw new UsageException($"{model.Name} has no [TrainedOn(..., Weights = \"...\")]: where are its weights?");

    /// <summary>
    /// The model-card rows of the docs: how the weights were made, and which weights were read — the folder as the
    /// spec names it when they are the bundled ones, otherwise the folder's name: never a path of the machine that
    /// wrote the docs.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Rows(this ModelEntry model, string weightsDirectory)
    {
        var rows = new List<KeyValuePair<string, string>>();
        var card = model.TrainedOn();
        if (card is not null)
        {
            rows.Add(new("trained on", $"{card.Task}, {card.Steps} steps, seed{(card.AllSeeds.Count == 1 ? "" : "s")} {string.Join(", ", card.AllSeeds)}"));
        }

        if (model.ComposedFrom() is { } composed)
        {
            rows.Add(new("composed from", string.Join(" + ", composed.Parts.Select(p => p.Name)) + ", no training"));
        }

        var declared = card is { Weights.Length: > 0 } ? card.Weights
            : model.ComposedFrom() is { Weights.Length: > 0 } composedCard ? composedCard.Weights : null;
        var bundled = declared is not null
            && model.BundledWeights().Any(w => Path.GetFullPath(w.Directory) == Path.GetFullPath(weightsDirectory));
        rows.Add(new("weights", bundled
            ? $"{declared} (bundled with the spec)"
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(weightsDirectory)))));
        return rows;
    }
}

/// <summary>One training seed's weights folder.</summary>
/// <param name="Seed">The training seed.</param>
/// <param name="Directory">Its model folder.</param>
internal sealed record SeedWeights(int Seed, string Directory);
