using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>Upper bounds, and claims measured by the spec's own code, stated against <see cref="Tiny2L"/>.</summary>
[Circuit(typeof(Tiny2L))]
public static partial class TinyBounds
{
    private static readonly int[][] Repeated = [[1, 5, 7, 2, 1, 5, 7, 2]];

    /// <summary>Head 0.1 does not attend to the previous token.</summary>
    [PreviousTokenHead("0.1", AtMost = 0.01)]
    public static partial Evidence NotPreviousToken(Tiny2L model);

    /// <summary>Head 0.0 is not a duplicate-token head.</summary>
    [DuplicateTokenHead("0.0", AtMost = 0.9)]
    public static partial Evidence NotDuplicateToken(Tiny2L model);

    /// <summary>The vocabulary has at least ten tokens.</summary>
    [Measured(AtLeast = 10)]
    public static double Vocabulary(Tiny2L model) => model.Weights.Config.DVocab;

    /// <summary>The model's loss on a repeated sequence is at most one nat a token.</summary>
    [Measured(AtMost = 1, Unit = "nats")]
    public static double RepeatedTokenLoss(Tiny2L model) => Losses.NextTokenCrossEntropy(model.Forward(Repeated), Repeated);

    /// <summary>A claim whose measurement is not written yet.</summary>
    [Measured(AtLeast = 0)]
    private static float Unfinished(Tiny2L model) => throw new NotSupportedException($"no batch for {model.GetType().Name} yet");
}
