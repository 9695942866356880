using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Surgery;
using CircuitDsl.Tests.Circuits;

namespace CircuitDsl.Tests.Surgery;

/// <summary>An extracted model against the full model under mean ablation, through the runtime's hooks.</summary>
public sealed class ExtractionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 2, 0], [3, 3, 0, 10, 7, 5, 8], [6, 1, 1, 2, 9, 9, 4]];

    [Fact]
    public void Removed_heads_and_MLPs_become_their_mean_output_and_kept_heads_are_packed()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 3, heads: 3, norm: Normalization.LN, attnOnly: false), seed: 31);
        var model = new HookedTransformer(w);
        HeadId[] circuit = [new(0, 2), new(2, 0), new(2, 1)];

        var extracted = Extraction.Extract(model, circuit, [1], Tokens);

        extracted.Circuit.Weights.Config.NHeads.Should().Be(2, "layer 2 keeps two heads, the most of any layer");
        extracted.Circuit.HeadMap.Should().Equal(new Dictionary<HeadId, HeadId>
        {
            [new(0, 2)] = new(0, 0), [new(2, 0)] = new(2, 0), [new(2, 1)] = new(2, 1),
        });
        extracted.Mlps.Should().Equal(1);
        extracted.Circuit.Weights.Blocks[1].W_Q.Span.ToArray().Should().AllSatisfy(x => x.Should().Be(0), "layer 1 keeps no head");
        extracted.Circuit.Weights.Blocks[0].W_in!.Span.ToArray().Should().AllSatisfy(x => x.Should().Be(0), "MLP 0 is removed");

        var hooks = Ablation.Hooks(w.Config, Ablation.AllHeads(w.Config).Except(circuit), AblationKind.Mean, Ablation.MeanZ(model, Tokens));
        Ablation.MlpHooks(w.Config, [0, 2], Ablation.MeanMlpOut(model, Tokens), hooks);
        var ablated = model.Forward(Tokens, hooks).Span.ToArray();
        new HookedTransformer(extracted.Circuit.Weights).Forward(Tokens).Span.ToArray().Should().Equal(ablated, (a, b) => Math.Abs(a - b) < 1e-4);
        extracted.Losses.Circuit.Should().BeApproximately(Losses.NextTokenCrossEntropy(model.Forward(Tokens, hooks), Tokens), 1e-4);
    }

    [Fact]
    public void The_faithfulness_is_the_fraction_of_loss_recovered_as_the_Faithfulness_claim_defines_it()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 3, norm: Normalization.LNPre, attnOnly: true), seed: 8);
        var model = new HookedTransformer(w);
        HeadId[] circuit = [new(0, 1), new(1, 2)];

        var extracted = Extraction.Extract(model, circuit, null, Tokens);
        var claim = Ablation.FractionOfLossRecovered(model, Tokens, circuit);

        // The claim's losses stream by row blocks with float per-position terms (docs/math.md); to float rounding, the same.
        extracted.Losses.Full.Should().BeApproximately(claim.Full, 1e-6 * claim.Full);
        extracted.Losses.AblateAll.Should().BeApproximately(claim.AblateAll, 1e-6 * claim.AblateAll);
        extracted.Losses.Circuit.Should().BeApproximately(claim.Circuit, 1e-4);
        extracted.Losses.Fraction.Should().BeApproximately(claim.Fraction, 1e-3);
        Extraction.Extract(model, Ablation.AllHeads(w.Config).ToArray(), null, Tokens).Losses.Fraction.Should().BeApproximately(1, 1e-4);
        Extraction.Extract(model, [], null, Tokens).Losses.Fraction.Should().BeApproximately(0, 1e-4);
    }

    [Fact]
    public void Ablating_MLPs_counts_them_in_the_fully_ablated_loss()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, norm: Normalization.None, attnOnly: false), seed: 3);
        var model = new HookedTransformer(w);

        var none = Extraction.Extract(model, [], [], Tokens);
        var headsOnly = Extraction.Extract(model, [], null, Tokens);

        none.Losses.Circuit.Should().BeApproximately(none.Losses.AblateAll, 1e-4, "with nothing kept the extracted model is the fully ablated one");
        headsOnly.Losses.AblateAll.Should().NotBeApproximately(none.Losses.AblateAll, 1e-6, "without --mlps the MLPs stay in the baseline");
    }

    [Theory]
    [InlineData("3.0", null, "Head 3.0 is outside the model*")]
    [InlineData("0.0,0.0", null, "head 0.0 is listed twice*")]
    [InlineData("0.0", 2, "MLP 2 is outside the model*")]
    public void Bad_circuits_are_refused(string heads, int? mlp, string message)
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, attnOnly: false), seed: 3);

        var act = () => Extraction.Extract(new HookedTransformer(w), heads.Split(',').Select(HeadId.Parse).ToArray(),
            mlp is { } m ? [m] : null, Tokens);

        act.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void An_extracted_circuit_computes_what_the_mean_ablated_model_computes()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 3, norm: Normalization.LN, attnOnly: false), seed: 12);
        var model = new HookedTransformer(w);
        HeadId[] circuit = [new(0, 2), new(1, 0), new(1, 2)];

        var extracted = Extraction.ExtractCircuit(model, circuit, AblationKind.Mean, Tokens);

        extracted.Weights.Config.NHeads.Should().Be(2);
        extracted.HeadMap[new HeadId(1, 2)].Should().Be(new HeadId(1, 1));
        extracted.HeadMap[new HeadId(0, 2)].Should().Be(new HeadId(0, 0));
        var dropped = Ablation.AllHeads(w.Config).Except(circuit);
        var expected = model.Forward(Tokens, Ablation.Hooks(w.Config, dropped, AblationKind.Mean, Ablation.MeanZ(model, Tokens)));
        new HookedTransformer(extracted.Weights).Forward(Tokens).Span.ToArray()
            .Should().Equal(expected.Span.ToArray(), (a, b) => Math.Abs(a - b) < 1e-4);
    }
}
