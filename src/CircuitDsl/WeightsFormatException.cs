namespace CircuitDsl;

/// <summary>
/// A model folder, weights file, config or tokens file that cannot be used, with what is wrong and where:
/// the file and, where there is one, the tensor. Every format problem is reported as this type.
/// </summary>
public sealed class WeightsFormatException : Exception
{
    /// <summary>A format error in <paramref name="file"/>, optionally at tensor <paramref name="tensor"/>.</summary>
    public WeightsFormatException(string file, string? tensor, string problem, Exception? inner = null)
        : base(Format(file, tensor, problem), inner)
    {
        File = file;
        Tensor = tensor;
        Problem = problem;
    }

    /// <summary>The file the problem is in.</summary>
    public string File { get; }

    /// <summary>The tensor the problem is in, if it is about one.</summary>
    public string? Tensor { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    private static string Format(string file, string? tensor, string problem) =>
        tensor is null ? $"{file}: {problem}" : $"{file}: tensor '{tensor}': {problem}";
}
