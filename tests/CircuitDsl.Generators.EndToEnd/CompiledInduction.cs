using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Surgery;
using FluentAssertions;
using Xunit;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>
/// The shape of <see cref="CompiledCircuits.Induction"/> for 12 tokens and 12 positions: four one-hot blocks of the
/// residual stream (3 · 12 + 12), and <c>d_head = 13</c>.
/// </summary>
[Transformer(NLayers = 2, NHeads = 2, DModel = 48, DHead = 13, DVocab = 12, NCtx = 12,
             AttnOnly = true, NormalizationType = Normalization.None)]
public sealed partial class Compiled2L;

/// <summary>The induction circuit's claims, with the thresholds the Induction2L spec holds trained weights to.</summary>
[Circuit(typeof(Compiled2L), Paper = "Induction Heads")]
public static partial class CompiledInductionClaims
{
    /// <summary>Head 0.1 attends to the previous token.</summary>
    [PreviousTokenHead("0.1", AtLeast = 0.8)]
    public static partial Evidence PreviousToken(Compiled2L model);

    /// <summary>Head 1.0 is an induction head.</summary>
    [InductionHead("1.0", AtLeast = 0.9)]
    public static partial Evidence Induction(Compiled2L model);

    /// <summary>Head 1.0 is an induction head on a detection batch of its own: 4 sequences of 9 tokens, an odd length.</summary>
    [InductionHead("1.0", AtLeast = 0.9, Sequences = 4, SequenceLength = 9)]
    public static partial Evidence InductionOnShortSequences(Compiled2L model);

    /// <summary>The previous-token head is no induction head.</summary>
    [InductionHead("0.1", AtMost = 0.05)]
    public static partial Evidence PreviousTokenHeadIsNoInductionHead(Compiled2L model);

    /// <summary>Head 1.0 reads its keys from what 0.1 wrote.</summary>
    [Composes("1.0", Via = CompositionKind.K, From = "0.1", AtLeast = 1.75, InBaselineUnits = true)]
    public static partial Evidence KComposition(Compiled2L model);

    /// <summary>Its queries do not read 0.1.</summary>
    [Composes("1.0", Via = CompositionKind.Q, From = "0.1", AtMost = 1.25, InBaselineUnits = true)]
    public static partial Evidence NoQComposition(Compiled2L model);

    /// <summary>Nor do its values.</summary>
    [Composes("1.0", Via = CompositionKind.V, From = "0.1", AtMost = 1, InBaselineUnits = true)]
    public static partial Evidence NoVComposition(Compiled2L model);

    /// <summary>Head 1.0 copies the token it attends to.</summary>
    [CopyingHead("1.0", AtLeast = 0.95)]
    public static partial Evidence Copies(Compiled2L model);

    /// <summary>The residual stream has no privileged basis: a random rotation of it leaves the logits unchanged.</summary>
    [Rotated(Seed = 5, AtMost = 1e-4)]
    public static partial Evidence ResidualStreamRotated(Compiled2L model);

    /// <summary>Nor do the heads' bases.</summary>
    [Rotated(Seed = 5, HeadBases = true, AtMost = 1e-4)]
    public static partial Evidence HeadBasesRotated(Compiled2L model);
}

/// <summary>Claim → weights → verdict: weights compiled by hand from the claims, checked by the generated spec.</summary>
public sealed class CompiledInductionTests
{
    private static TransformerWeights Weights() => CompiledCircuits.Induction(vocab: 12, context: 12, new HeadId(0, 1), new HeadId(1, 0), heads: 2);

    [Fact]
    public void Every_claim_holds_on_the_weights_compiled_from_them()
    {
        using var model = Compiled2L.FromWeights(Weights());

        var report = CompiledInductionClaims.CheckAll(model);

        report.AllHold.Should().BeTrue(report.ToText());
        report.Evidence.Should().HaveCount(10);
    }

    [Fact]
    public void A_claim_on_its_own_batch_is_measured_on_that_batch()
    {
        using var model = Compiled2L.FromWeights(Weights());

        var own = CompiledInductionClaims.InductionOnShortSequences(model);

        var pattern = own.Data.OfType<AttentionPatternData>().Single();
        pattern.Tokens.Should().Equal(HeadDetector.DefaultBatch(Compiled2L.Config, 4, 9)[0]);
        own.Measured.Should().Be(model.Analysis.OnDetectionBatch(4, 9).Detectors.Score(DetectorKind.Induction, new HeadId(1, 0)));
        own.Measured.Should().Be(1, "the compiled induction head attends only to the token after the earlier copy, on any batch");
        pattern.Tokens.Should().NotEqual(model.Analysis.DetectionBatch[0], "the default batch is another one");
    }

    [Fact]
    public void The_rotated_compiled_model_satisfies_the_same_claims_with_the_same_values()
    {
        // The residual stream and the heads' bases are not privileged: a rotated model is the same model.
        using var model = Compiled2L.FromWeights(Weights());
        using var rotated = Compiled2L.FromWeights(Rotation.Rotate(Weights(), RotatedBases.ResidualStream | RotatedBases.HeadBases, seed: 5));

        var (a, b) = (CompiledInductionClaims.CheckAll(model), CompiledInductionClaims.CheckAll(rotated));

        b.AllHold.Should().BeTrue(b.ToText());
        b.Evidence.Select(e => e.Measured).Should().Equal(a.Evidence.Select(e => e.Measured), (x, y) => Math.Abs(x - y) < 1e-4);
    }
}
