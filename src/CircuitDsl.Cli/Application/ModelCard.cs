using System.Reflection;
using CircuitDsl.Facade;

namespace CircuitDsl.Cli.Application;

/// <summary>A model spec's <see cref="TrainedOnAttribute"/>: how its weights were made and where they are.</summary>
internal static class ModelCard
{
    /// <summary>The model card, if the spec has one.</summary>
    public static TrainedOnAttribute? TrainedOn(this ModelEntry model) => model.Type.GetCustomAttribute<TrainedOnAttribute>();

    /// <summary>The bundled weights folder the model card names for each of its seeds, in the card's order.</summary>
    /// <exception cref="UsageException">The spec names no weights folder.</exception>
    public static IReadOnlyList<SeedWeights> BundledWeights(this ModelEntry model) =>
        model.TrainedOn() is { Weights.Length: > 0 } card
            ? [.. card.AllSeeds.Select(seed => new SeedWeights(seed, card.WeightsDirectory(model.Type, seed)))]
            : throw new UsageException($"{model.Name} has no [TrainedOn(..., Weights = \"...\")]: where are its weights?");

    /// <summary>The model-card rows of the docs: how the weights were made, and where they were read from.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Rows(this ModelEntry model, string weightsDirectory)
    {
        var rows = new List<KeyValuePair<string, string>>();
        if (model.TrainedOn() is { } card)
        {
            rows.Add(new("trained on", $"{card.Task}, {card.Steps} steps, seed{(card.AllSeeds.Count == 1 ? "" : "s")} {string.Join(", ", card.AllSeeds)}"));
        }

        rows.Add(new("weights", weightsDirectory));
        return rows;
    }
}

/// <summary>One training seed's weights folder.</summary>
/// <param name="Seed">The training seed.</param>
/// <param name="Directory">Its model folder.</param>
internal sealed record SeedWeights(int Seed, string Directory);
