using CircuitDsl.Assertions;
using CircuitDsl.Model;
using CircuitDsl.Patching;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// [Patching] claims end to end: written in a spec, checked by the generator, emitted, and measured on the trained
/// induction model; each value equals the runtime's own sweep on the same prompts.
/// </summary>
public sealed class InductionPatchingTests(TrainedSeeds<Induction2L> trained) : IClassFixture<TrainedSeeds<Induction2L>>
{
    private static readonly int[][] Clean = [[7, 21, 40, 3, 11, 33, 7, 21, 40, 3, 11]];
    private static readonly int[][] Corrupted = [[7, 21, 40, 3, 50, 33, 7, 21, 40, 3, 11]];

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(trained.Check(InductionPatching.Documentation, InductionPatching.CheckAll).ToText()));

    [Fact]
    public void Every_hypothesis_holds_on_the_seeds_it_asks_for() =>
        trained.Check(InductionPatching.Documentation, InductionPatching.CheckAll).Should().HoldAll();

    /// <summary>The claims measure the weights processed as TransformerLens loads them; the sweep here the stored ones.</summary>
    [Fact]
    public void Each_claims_value_is_the_sweeps_entry()
    {
        var patching = ActivationPatching.Prepare(new HookedTransformer(trained.Models[0].Weights), Clean, Corrupted, 33, 50);
        var resid = patching.Sweep(PatchedActivation.ResidPre);
        var heads = patching.Sweep(PatchedActivation.HeadOutput);

        InductionPatching.StoredAfterTheFirstCopy(trained.Models[0]).Measured.Should().BeApproximately(resid[1, 5], 1e-4);
        InductionPatching.PreviousTokenHeadCarriesIt(trained.Models[0]).Measured.Should().BeApproximately(heads[0, 2], 1e-4);
        InductionPatching.HeadZeroZeroDoesNot(trained.Models[0]).Measured.Should().BeApproximately(heads[0, 0], 1e-4);
    }
}
