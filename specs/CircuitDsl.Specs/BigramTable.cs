using CircuitDsl.Reports;

namespace CircuitDsl.Specs;

/// <summary>
/// A zero-layer transformer can only read the current token, so the best it can do is the bigram statistics of its
/// training data, and its one path, <c>W_E W_U</c>, is where they live.
/// </summary>
[Circuit(typeof(Bigram0L), Paper = "Zero-Layer Transformers")]
public static partial class BigramTable
{
    /// <summary>
    /// "Zero layer transformers model bigram statistics": the direct path <c>W_E W_U</c>, read as
    /// <c>log_softmax(W_E W_U + b_U)</c>, approximates the log-probabilities of the next token given the current one.
    /// Here the chain that generated the training data is known, so the table can be compared with the truth.
    /// </summary>
    [DirectPathBigrams(AtLeast = 0.9, Paper = "Zero-Layer Transformers")]
    public static partial Evidence DirectPathIsTheBigramTable(Bigram0L model);
}
