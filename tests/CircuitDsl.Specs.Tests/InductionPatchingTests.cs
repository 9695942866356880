using CircuitDsl.Assertions;
using CircuitDsl.Model;
using CircuitDsl.Patching;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// [Patching] claims end to end: written in a spec, checked by the generator, emitted, and measured on the trained
/// induction model; each value equals the runtime's own sweep on the same prompts.
/// </summary>
public sealed class InductionPatchingTests(TrainedModel<Induction2L> trained) : IClassFixture<TrainedModel<Induction2L>>
{
    private static readonly int[][] Clean = [[7, 21, 40, 3, 11, 33, 7, 21, 40, 3, 11]];
    private static readonly int[][] Corrupted = [[7, 21, 40, 3, 50, 33, 7, 21, 40, 3, 11]];

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(InductionPatching.CheckAll(trained.Model).ToText()));

    [Fact]
    public void Every_hypothesis_holds() => InductionPatching.CheckAll(trained.Model).Should().HoldAll();

    /// <summary>The claims measure the weights processed as TransformerLens loads them; the sweep here the stored ones.</summary>
    [Fact]
    public void Each_claims_value_is_the_sweeps_entry()
    {
        var patching = ActivationPatching.Prepare(new HookedTransformer(trained.Model.Weights), Clean, Corrupted, 33, 50);
        var resid = patching.Sweep(PatchedActivation.ResidPre);
        var heads = patching.Sweep(PatchedActivation.HeadOutput);

        InductionPatching.StoredAfterTheFirstCopy(trained.Model).Measured.Should().BeApproximately(resid[1, 5], 1e-4);
        InductionPatching.PreviousTokenHeadCarriesIt(trained.Model).Measured.Should().BeApproximately(heads[0, 2], 1e-4);
        InductionPatching.HeadZeroZeroDoesNot(trained.Model).Measured.Should().BeApproximately(heads[0, 0], 1e-4);
    }
}
