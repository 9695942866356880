using System.Globalization;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Training;

/// <summary>
/// The optimizer state beside a model folder's weights (<c>training-state.safetensors</c>): the moment estimates of
/// <see cref="AdamW"/> as F32 tensors (<c>m.{name}</c>, <c>v.{name}</c>) and, in the file's metadata, the completed
/// step and the recipe's values, so that a run interrupted after a checkpoint continues bit for bit
/// (<see cref="Trainer.Train"/> with a <see cref="TrainingResume"/>). TransformerLens never reads the file.
/// </summary>
public static class TrainingStateFile
{
    /// <summary>The file name inside the model folder.</summary>
    public const string FileName = "training-state.safetensors";

    /// <summary>Writes the checkpoint's optimizer state and <paramref name="recipe"/> (strings) into <paramref name="dir"/>, atomically.</summary>
    public static void Save(string dir, TrainingCheckpoint checkpoint, IReadOnlyDictionary<string, string> recipe)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(recipe);
        var metadata = new Dictionary<string, string>(recipe, StringComparer.Ordinal)
        {
            ["step"] = checkpoint.Step.ToString(CultureInfo.InvariantCulture),
        };
        AtomicFile.Write(Path.Combine(dir, FileName), stream => SafetensorsFile.Write(stream, checkpoint.Optimizer.Moments(), metadata));
    }

    /// <summary>
    /// Reads the state saved in <paramref name="dir"/> for the <paramref name="weights"/> loaded from it: where to
    /// resume, and the recipe's values.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file is missing, malformed, or does not fit the weights.</exception>
    public static (TrainingResume Resume, IReadOnlyDictionary<string, string> Recipe) Load(string dir, TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            throw new WeightsFormatException(path, null, "missing: only a folder that `train` is writing (or wrote) has an optimizer state to resume from.");
        }

        using var file = SafetensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("step", out var text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
        {
            throw new WeightsFormatException(path, null, "its metadata has no step count.");
        }

        var moments = file.Tensors.ToDictionary(t => t.Key, t => t.Value.Clone(), StringComparer.Ordinal);
        foreach (var (name, tensor) in weights.ToStateDict())
        {
            foreach (var moment in new[] { "m." + name, "v." + name })
            {
                if (!moments.TryGetValue(moment, out var saved) || !saved.Shape.SequenceEqual(tensor.Shape))
                {
                    throw new WeightsFormatException(path, moment, $"missing, or not shaped {Tensor.FormatShape(tensor.Shape)} like the weight it belongs to.");
                }
            }
        }

        return (new TrainingResume(step, weights, moments), file.Metadata);
    }
}
