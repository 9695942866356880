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

    /// <summary>
    /// The direct path is the model: a zero-layer model's logits are the direct path plus the unembedding's constant
    /// <c>b_U</c>, and on the chain's own sequences the direct path carries nearly all of them — at least 0.95 of their
    /// squared norm.
    /// </summary>
    [PathTerm("direct", AtLeast = 0.95, Paper = "Zero-Layer Transformers")]
    public static partial Evidence DirectPathCarriesTheLogits(Bigram0L model);

    /// <summary>
    /// The direct path predicts the chain: on the chain's own sequences it raises the logit of the token that actually
    /// comes next by at least 2.5 on average, where the constant <c>b_U</c> cannot tell one next token from another.
    /// </summary>
    [PathTerm("direct", Measure = PathMeasure.NextTokenLogit, AtLeast = 2.5, Paper = "Zero-Layer Transformers")]
    public static partial Evidence DirectPathRaisesTheNextToken(Bigram0L model);
}
