using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tests.Model;

namespace CircuitDsl.Tests.Circuits;

public sealed class AblationTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0, 3], [7, 7, 5, 10, 1, 2, 8], [0, 3, 3, 6, 2, 9, 10]];

    [Fact]
    public void Zero_ablating_the_only_head_of_the_previous_token_copier_leaves_uniform_logits()
    {
        // Without the head nothing reaches W_U's output block: every logit is 0, so the loss is ln(vocab).
        const int vocab = 6;
        var model = new HookedTransformer(HandBuilt.PreviousTokenCopier(vocab, ctx: 5, logitScale: 5f));
        int[][] tokens = [[0, 1, 2, 3, 4]];

        var loss = Ablation.Loss(model, tokens, Ablation.Hooks(model.Config, [new HeadId(0, 0)], AblationKind.Zero));

        loss.Should().BeApproximately(Math.Log(vocab), 1e-6);
        Ablation.Loss(model, tokens).Should().BeGreaterThan(Math.Log(vocab), "the copier predicts the previous token, which is always wrong here");
    }

    [Fact]
    public void Zero_ablation_by_hook_equals_zeroing_the_heads_output_weights()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 3, norm: Normalization.LN, attnOnly: false), seed: 5);
        var model = new HookedTransformer(w);
        HeadId[] heads = [new(0, 1), new(1, 2)];

        var hooked = model.Forward(Tokens, Ablation.Hooks(w.Config, heads, AblationKind.Zero)).Span.ToArray();

        var edited = WeightProcessing.Apply(w, WeightProcessingOptions.None).Weights;
        foreach (var h in heads)
        {
            edited.Blocks[h.Layer].W_O[h.Head].Span.Clear();
        }

        hooked.Should().Equal(new HookedTransformer(edited).Forward(Tokens).Span.ToArray(), (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void Loss_recovered_is_one_for_the_whole_model_and_zero_for_no_heads()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2), seed: 6, scale: 1f);
        var model = new HookedTransformer(w);

        var all = Ablation.FractionOfLossRecovered(model, Tokens, Ablation.AllHeads(w.Config));
        var none = Ablation.FractionOfLossRecovered(model, Tokens, []);
        var some = Ablation.FractionOfLossRecovered(model, Tokens, [new HeadId(1, 0)]);

        all.Fraction.Should().BeApproximately(1, 1e-9);
        none.Fraction.Should().BeApproximately(0, 1e-9);
        // The ablation losses come straight out of the unembedding in double; the loss of the logits rounds each position's to float.
        all.Full.Should().BeApproximately(Losses.NextTokenCrossEntropy(model.Forward(Tokens), Tokens), 1e-6 * all.Full);
        some.Fraction.Should().BeApproximately((some.AblateAll - some.Circuit) / (some.AblateAll - some.Full), 1e-12);
        some.AblateAll.Should().NotBeApproximately(some.Full, 1e-4, "ablating everything changes the loss");
    }
}
