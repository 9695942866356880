using System;
using System.IO;

namespace CircuitDsl;

/// <summary>
/// The model card of a <see cref="TransformerAttribute"/> spec: how its weights were made and where they are.
/// The weights were trained with <c>circuitdsl train --task <see cref="Task"/> --steps <see cref="Steps"/>
/// --seed <see cref="Seed"/></c> on the spec's architecture, with the task's recipe for everything not given
/// here, and are in the folder <see cref="Weights"/> next to the spec assembly. The seed also fixes the task's
/// drawn structure (the bigram chain, the skip-trigram table), which hypotheses about that structure compare with.
/// </summary>
/// <example>
/// <code>
/// [Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
/// [TrainedOn("repeated-tokens", Steps = 4000, Seed = 0, Weights = "weights/induction-2l")]
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

    /// <summary>The seed of the weights and the data (and of the task's drawn structure); 0 when omitted.</summary>
    public int Seed { get; set; }

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
}
