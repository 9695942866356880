using CircuitDsl.Circuits;
using CircuitDsl.Reports;
using CircuitDsl.Surgery;

namespace CircuitDsl.Tests.Surgery;

/// <summary>
/// The round trip from claim to weights to verdict: the induction circuit compiled into weights by hand is checked by
/// the same hypotheses, with the same thresholds, as the Induction2L spec (specs/CircuitDsl.Specs/InductionCircuit.cs)
/// on trained weights.
/// </summary>
public sealed class CompiledCircuitsTests
{
    private static readonly HeadId PreviousToken = new(0, 2);
    private static readonly HeadId Induction = new(1, 3);

    private static ModelAnalysis Compiled() =>
        new(CompiledCircuits.Induction(vocab: 16, context: 21, PreviousToken, Induction, heads: 4), modelName: "compiled induction");

    [Fact]
    public void The_compiled_induction_circuit_satisfies_the_induction_specs_claims()
    {
        var a = Compiled();

        Evidence[] evidence =
        [
            Hypotheses.PreviousTokenHead(a, "PreviousTokenHead", "0.2 attends to the previous token.", PreviousToken, 0.8, Bound.AtLeast),
            Hypotheses.InductionHead(a, "InductionHead", "1.3 is an induction head.", Induction, 0.9, Bound.AtLeast),
            Hypotheses.InductionHead(a, "PreviousTokenHeadIsNoInductionHead", "0.2 is not.", PreviousToken, 0.05, Bound.AtMost),
            Hypotheses.Composition(a, "KComposition", "1.3's keys read 0.2.", CompositionKind.K, PreviousToken, Induction, 1.75, Bound.AtLeast, inBaselineUnits: true),
            Hypotheses.Composition(a, "NoQComposition", "1.3's queries do not.", CompositionKind.Q, PreviousToken, Induction, 1.25, Bound.AtMost, inBaselineUnits: true),
            Hypotheses.Composition(a, "NoVComposition", "1.3's values do not.", CompositionKind.V, PreviousToken, Induction, 1, Bound.AtMost, inBaselineUnits: true),
            Hypotheses.CopyingHead(a, "InductionHeadCopies", "1.3 copies.", Induction, 0.95, Bound.AtLeast),
        ];

        evidence.Should().AllSatisfy(e => e.Verdict.Should().Be(Verdict.Holds, ReportText.Describe(e)));
        evidence[0].Measured.Should().BeApproximately(1, 1e-6);
        evidence[1].Measured.Should().BeApproximately(1, 1e-6);
        evidence[6].Measured.Should().BeApproximately(1, 1e-9);
        // Closed forms: W_OV(0.2) W_QK(1.3)ᵀ is s·I on the vocab block, so K-composition is √V·s / (√V · √V·s) = 1/√V; Q and V are 0.
        a.Composition.Score(CompositionKind.K, PreviousToken, Induction).Should().BeApproximately(1 / Math.Sqrt(16), 1e-5);
        a.Composition.Score(CompositionKind.Q, PreviousToken, Induction).Should().Be(0);
        a.Composition.Score(CompositionKind.V, PreviousToken, Induction).Should().Be(0);
    }

    [Fact]
    public void Without_the_previous_token_head_the_compiled_induction_head_fails_its_claim()
    {
        // The verdict follows the weights: zeroing what 0.2 writes leaves 1.3's keys blank, so it is no induction head.
        var w = CompiledCircuits.Induction(vocab: 16, context: 21, PreviousToken, Induction, heads: 4);
        w.Blocks[0].W_O.Span.Clear();

        var evidence = Hypotheses.InductionHead(new ModelAnalysis(w), "InductionHead", "1.3 is an induction head.", Induction, 0.9, Bound.AtLeast);

        evidence.Verdict.Should().Be(Verdict.Fails);
    }

    [Fact]
    public void The_compiled_model_predicts_the_repeated_half_of_a_sequence()
    {
        var w = CompiledCircuits.Induction(vocab: 8, context: 12, new HeadId(0, 0), new HeadId(1, 0));
        int[] half = [5, 2, 7, 0, 3];
        int[][] tokens = [[.. half, .. half]];

        var logits = new CircuitDsl.Model.HookedTransformer(w).Forward(tokens);

        for (var i = half.Length; i < (2 * half.Length) - 1; i++)
        {
            var row = logits[0][i].Span.ToArray();
            Array.IndexOf(row, row.Max()).Should().Be(tokens[0][i + 1], $"position {i} has seen its token before");
        }
    }

    [Fact]
    public void Heads_in_the_wrong_order_are_refused()
    {
        var act = () => CompiledCircuits.Induction(8, 8, new HeadId(1, 0), new HeadId(1, 1), heads: 2);

        act.Should().Throw<ArgumentException>().WithMessage("*later layer*");
    }
}
