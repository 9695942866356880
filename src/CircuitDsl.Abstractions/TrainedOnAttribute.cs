using System;
using System.Collections.Generic;
using System.IO;

namespace CircuitDsl;

/// <summary>
/// The model card of a <see cref="TransformerAttribute"/> spec: how its weights were made and where they are.
/// The weights were trained with <c>circuitdsl train --task <see cref="Task"/> --steps <see cref="Steps"/>
/// --seed S</c> on the spec's architecture, with the task's recipe for everything not given here, once for each seed
/// S of <see cref="Seeds"/> (or for the one <see cref="Seed"/>), and are next to the spec assembly: one seed's in the
/// folder <see cref="Weights"/>, several seeds' in its subfolders <c>seed-S</c> (<see cref="WeightsDirectory(Type, int)"/>).
/// A circuit's claims are checked on every seed. The seed also fixes the task's drawn structure (the bigram chain, the
/// skip-trigram table), which hypotheses about that structure compare with: each seed's weights with its own.
/// </summary>
/// <example>
/// <code>
/// [Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
/// [TrainedOn("repeated-tokens", Steps = 4000, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/induction-2l")]
/// public sealed partial class Induction2L;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class TrainedOnAttribute : Attribute
{
    /// <summary>Weights trained on <paramref name="task"/>, one of <see cref="TaskNames.All"/>.</summary>
    public TrainedOnAttribute(string task)
    {
        Task = task;
    }

    /// <summary>The training task, e.g. <c>"repeated-tokens"</c>.</summary>
    public string Task { get; }

    /// <summary>Optimizer steps. Required (positive).</summary>
    public int Steps { get; set; }

    /// <summary>
    /// The seed of the weights and the data (and of the task's drawn structure) when the model was trained once; 0 when
    /// omitted. Give this or <see cref="Seeds"/>, not both.
    /// </summary>
    public int Seed { get; set; }

    /// <summary>
    /// The seeds the model was trained on, each its own run of the same recipe, in the order reports list them (distinct,
    /// not negative); null when the model was trained once, on <see cref="Seed"/>. Each seed's weights are in the
    /// subfolder <c>seed-S</c> of <see cref="Weights"/>.
    /// </summary>
#pragma warning disable CA1819 // An attribute argument can only be an array.
    public int[]? Seeds { get; set; }
#pragma warning restore CA1819

    /// <summary>Every seed the weights were trained on: <see cref="Seeds"/>, or the one <see cref="Seed"/>.</summary>
    public IReadOnlyList<int> AllSeeds => Seeds is { Length: > 0 } seeds ? seeds : new[] { Seed };

    /// <summary>
    /// The model folder (<c>config.json</c> + weights), relative to the directory of the assembly that declares
    /// the spec at run time, e.g. <c>"weights/induction-2l"</c>. Required.
    /// </summary>
    public string Weights { get; set; } = "";

    /// <summary>The peak learning rate, when it differs from the task's recipe; 0 for the recipe's.</summary>
    public double LearningRate { get; set; }

    /// <summary>Sequences per step, when it differs from the task's recipe; 0 for the recipe's.</summary>
    public int BatchSize { get; set; }

    /// <summary>
    /// The absolute path of <see cref="Weights"/> for the spec class <paramref name="model"/>: the folder relative
    /// to the directory of <paramref name="model"/>'s assembly (or the application's base directory when the
    /// assembly has no file location, as in a single-file app).
    /// </summary>
    public string WeightsDirectory(Type model) => Resolve(model, Weights);

    /// <summary><paramref name="relative"/> resolved against the directory of <paramref name="model"/>'s assembly (or the application's base directory).</summary>
    internal static string Resolve(Type model, string relative)
    {
        if (model is null)
        {
            throw new ArgumentNullException(nameof(model));
        }

        var location = model.Assembly.Location;
        var root = string.IsNullOrEmpty(location) ? AppContext.BaseDirectory : Path.GetDirectoryName(location)!;
        return Path.GetFullPath(Path.Combine(root, relative));
    }

    /// <summary>
    /// The absolute path of the weights of <paramref name="seed"/> for the spec class <paramref name="model"/>: the
    /// subfolder <c>seed-S</c> of <see cref="WeightsDirectory(Type)"/> when the card lists <see cref="Seeds"/>, else that
    /// folder itself.
    /// </summary>
    public string WeightsDirectory(Type model, int seed) =>
        Seeds is { Length: > 0 } ? Path.Combine(WeightsDirectory(model), SeedFolder(seed)) : WeightsDirectory(model);

    /// <summary>The name of one seed's subfolder, <c>seed-S</c>.</summary>
    public static string SeedFolder(int seed) => "seed-" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
