using CircuitDsl.Model;
using CircuitDsl.Patching;
using CircuitDsl.Tests.Circuits;

namespace CircuitDsl.Tests.Patching;

/// <summary>
/// A sweep over positions runs each layer's positions as one batch from that layer on and reads the metric from two
/// columns of <c>W_U</c>; <see cref="ActivationPatching.Patch"/> runs one whole forward pass per patch and unembeds.
/// They must agree entry by entry.
/// </summary>
public sealed class PatchingSweepTests
{
    [Theory]
    [InlineData(PatchedActivation.ResidPre)]
    [InlineData(PatchedActivation.AttnOut)]
    [InlineData(PatchedActivation.MlpOut)]
    public void A_batched_sweep_equals_one_whole_patched_run_per_position(PatchedActivation what)
    {
        // 8 sequences of 64 positions: 512 rows per patched position, so the sweep batches 8 positions at a time and
        // a layer's differing positions take several batches.
        const int sequences = 8, n = 64;
        var config = RandomWeights.Config(layers: 3, heads: 2, dModel: 16, dHead: 4, vocab: 23, ctx: n,
            norm: Normalization.LN, attnOnly: false);
        var model = new HookedTransformer(RandomWeights.Create(config, seed: 41, scale: 1f));
        var rng = new Random(12);
        int[][] corrupted = [.. Enumerable.Range(0, sequences).Select(_ => Enumerable.Range(0, n).Select(_ => rng.Next(23)).ToArray())];
        // The clean input differs at a third of the positions (the same ones in every sequence) and equals it elsewhere.
        int[][] clean = [.. corrupted.Select(s => s.Select((t, p) => p % 3 == 1 ? (t + 1 + rng.Next(22)) % 23 : t).ToArray())];
        var patching = ActivationPatching.Prepare(model, clean, corrupted, answer: 3, wrong: 7);

        var sweep = patching.Sweep(what);

        sweep.Shape.ToArray().Should().Equal(config.NLayers, n);
        for (var l = 0; l < config.NLayers; l++)
        {
            for (var p = 0; p < n; p++)
            {
                var one = patching.Patch(what, l, p, head: null);
                ((double)sweep[l, p]).Should().BeApproximately(one, 1e-5, $"layer {l}, position {p}");
                if (what == PatchedActivation.ResidPre && l == 0 && p % 3 != 1)
                {
                    sweep[l, p].Should().Be(0f, "the embeddings are equal there: the patch is the corrupted run");
                }
            }
        }

        sweep[config.NLayers - 1, n - 1].Should().NotBe(0f, "the last position's residual differs at the last layer");
    }
}
