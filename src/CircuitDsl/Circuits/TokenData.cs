using CircuitDsl.Model;

namespace CircuitDsl.Circuits;

/// <summary>
/// A tokens file a claim is measured on (the <c>Data</c> of <c>[Ablation]</c> and <c>[Faithfulness]</c>): a path
/// relative to the model's <see cref="TrainedOnAttribute.Weights"/> folder, resolved as that folder is
/// (<see cref="TrainedOnAttribute.WeightsDirectory(Type)"/>), so one file serves every seed of the model.
/// </summary>
public sealed class TokenData
{
    private TokenData(string relativePath, string path)
    {
        RelativePath = relativePath;
        Path = path;
    }

    /// <summary>The path as the claim wrote it, relative to the weights folder.</summary>
    public string RelativePath { get; }

    /// <summary>The file's absolute path.</summary>
    public string Path { get; }

    /// <summary>The file <paramref name="relativePath"/> in the weights folder of the spec class <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> has no <see cref="TrainedOnAttribute"/>.</exception>
    public static TokenData Of(Type model, string relativePath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(relativePath);
        var card = (TrainedOnAttribute?)Attribute.GetCustomAttribute(model, typeof(TrainedOnAttribute))
            ?? throw new ArgumentException($"{model.Name} has no [TrainedOn], whose weights folder a data file is relative to.", nameof(model));
        return new TokenData(relativePath, System.IO.Path.GetFullPath(System.IO.Path.Combine(card.WeightsDirectory(model), relativePath)));
    }

    /// <summary>The file's tokens, checked against <paramref name="config"/> (<see cref="TokensFile.Read(string, ModelConfig)"/>).</summary>
    /// <exception cref="WeightsFormatException">The file is missing, unreadable or corrupt, or its tokens do not fit the model; the message names the file.</exception>
    public int[][] Read(ModelConfig config) => TokensFile.Read(Path, config);
}
