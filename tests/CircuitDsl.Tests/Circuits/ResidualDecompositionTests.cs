using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// The identities of <see cref="ResidualDecomposition"/> on random weights of every architecture: the parts of the
/// residual stream sum to it, the logit lens's last layer is the model, and direct logit attribution sums to the logit.
/// </summary>
public sealed class ResidualDecompositionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    public static TheoryData<Normalization, bool, bool, int> Architectures() => PathDecompositionTests.Architectures();

    [Theory]
    [MemberData(nameof(Architectures))]
    public void The_parts_of_the_residual_stream_sum_to_it_at_every_layer(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var d = ResidualDecomposition.Compute(RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 60 + layers), Tokens);

        var accumulated = d.Accumulated(includeMid: true);
        accumulated.Select(c => c.Label).Should().Equal(Labels(layers, mid: !attnOnly));
        for (var layer = 0; layer <= layers; layer++)
        {
            var parts = d.Decompose(layer);
            parts.Should().HaveCount(1 + (shortformer ? 0 : 1) + (layer * (attnOnly ? 1 : 2)));
            parts.Select(p => p.Label).Should().StartWith(shortformer ? ["embed"] : ["embed", "pos_embed"]);
            var whole = d.Accumulated(layer)[^1];
            whole.Label.Should().Be(layer == layers ? "final_post" : $"{layer}_pre");
            ShouldSumTo(parts.Select(p => p.Value), [], whole.Value);
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void The_logit_lens_ends_at_the_models_logits_and_loss(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 70 + layers);
        var d = ResidualDecomposition.Compute(w, Tokens);
        var logits = new HookedTransformer(w).Forward(Tokens);

        foreach (var recompute in new[] { false, true })
        {
            var lens = d.LogitLens(includeMid: true, recomputeScale: recompute);

            lens.Select(l => l.Label).Should().Equal(Labels(layers, mid: !attnOnly));
            ShouldSumTo([lens[^1].Logits], [], logits);
            lens[^1].MeanLoss.Should().BeApproximately(Losses.NextTokenCrossEntropy(logits, Tokens), 1e-4);
        }

        var withoutBias = d.LogitLens(includeBias: false)[^1].Logits;
        var constant = Fill(FrozenLayerNorm.UnembedConstant(w), Tokens.Length * Tokens[0].Length);
        ShouldSumTo([withoutBias, constant.Reshape(withoutBias.Shape.ToArray())], [], logits);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void The_streamed_logit_lens_gives_the_float64_log_softmax_of_the_materialised_lens_logits(
        Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 90 + layers);

        ShouldStreamTheMaterialisedLens(w, Tokens);
    }

    [Fact]
    public void The_streamed_logit_lens_holds_over_many_row_blocks_and_vocabulary_chunks()
    {
        // 2 × 700 positions (1398 predicting rows: more than a row block per core, so each layer and scale is reduced on
        // its own, in parallel) and 2500 tokens (two vocabulary chunks).
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, vocab: 2500, ctx: 700, norm: Normalization.LN, attnOnly: false), seed: 9);
        var rng = new Random(3);
        int[][] tokens = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 700).Select(_ => rng.Next(2500)).ToArray())];

        ShouldStreamTheMaterialisedLens(w, tokens);
    }

    [Fact]
    public void The_streamed_logit_lens_keeps_huge_logits_finite_and_exact()
    {
        // W_U and b_U scaled by 10^4: logits of 10^3–10^4 in every lens layer, whose exponentials overflow without the max shift.
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 12);
        System.Numerics.Tensors.TensorPrimitives.Multiply(w.W_U.Span, 1e4f, w.W_U.Span);
        System.Numerics.Tensors.TensorPrimitives.Multiply(w.b_U.Span, 1e4f, w.b_U.Span);

        ShouldStreamTheMaterialisedLens(w, Tokens);
        ResidualDecomposition.LogitLensMeans(w, Tokens).Should().OnlyContain(m => m.MeanLoss > 100 && double.IsFinite(m.MeanLossOwnScale));
    }

    /// <summary>
    /// <see cref="ResidualDecomposition.LogitLensMeans(bool, bool)"/>, from a full decomposition and from the lens's own
    /// pass, equals the mean over predicting positions of <c>logsumexp(row) − row[next]</c> computed in double on
    /// <see cref="ResidualDecomposition.LogitLens"/>'s logits, with both scales and with and without the bias, to 1e-6
    /// relative.
    /// </summary>
    private static void ShouldStreamTheMaterialisedLens(TransformerWeights w, int[][] tokens)
    {
        var d = ResidualDecomposition.Compute(w, tokens);
        foreach (var bias in new[] { true, false })
        {
            var frozen = d.LogitLens(includeMid: true, includeBias: bias);
            var own = d.LogitLens(includeMid: true, includeBias: bias, recomputeScale: true);
            foreach (var means in new[] { d.LogitLensMeans(includeMid: true, includeBias: bias),
                         ResidualDecomposition.LogitLensMeans(w, tokens, includeMid: true, includeBias: bias) })
            {
                means.Select(m => m.Label).Should().Equal(frozen.Select(l => l.Label));
                for (var i = 0; i < means.Count; i++)
                {
                    var (expected, expectedOwn) = (Float64MeanLoss(frozen[i].Logits, tokens), Float64MeanLoss(own[i].Logits, tokens));
                    means[i].MeanLoss.Should().BeApproximately(expected, 1e-6 * Math.Abs(expected), $"{means[i].Label}, frozen scale, bias {bias}");
                    means[i].MeanLossOwnScale.Should().BeApproximately(expectedOwn, 1e-6 * Math.Abs(expectedOwn), $"{means[i].Label}, own scale, bias {bias}");
                }
            }
        }
    }

    /// <summary>The mean next-token cross-entropy of <paramref name="logits"/>, a float64 log-softmax per row.</summary>
    private static double Float64MeanLoss(Tensor logits, int[][] tokens)
    {
        double sum = 0;
        var count = 0;
        for (var b = 0; b < tokens.Length; b++)
        {
            for (var p = 0; p + 1 < tokens[b].Length; p++)
            {
                var row = logits[b][p].Span.ToArray().Select(v => (double)v).ToArray();
                var max = row.Max();
                sum += max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[tokens[b][p + 1]];
                count++;
            }
        }

        return sum / count;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Direct_logit_attribution_sums_to_the_next_tokens_logit_and_to_a_logit_difference(
        Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 80 + layers);
        var d = ResidualDecomposition.Compute(w, Tokens);
        var logits = new HookedTransformer(w).Forward(Tokens);

        var next = d.Attribute();
        next.Heads.Shape.ToArray().Should().Equal(layers, 2, Tokens.Length, Tokens[0].Length - 1);
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p + 1 < Tokens[0].Length; p++)
            {
                next.Logit[b, p].Should().BeApproximately(logits[b, p, Tokens[b][p + 1]], 1e-4f, "the same logit, rounded apart by summing the heads one at a time");
            }
        }

        ShouldSumTo(next.Components.Select(c => c.Value).Append(next.Constant), HeadsOf(next), next.Logit);

        var difference = d.Attribute(3, 5);
        difference.Heads.Shape.ToArray().Should().Equal(layers, 2, Tokens.Length, Tokens[0].Length);
        difference.Logit[1, 4].Should().BeApproximately(logits[1, 4, 3] - logits[1, 4, 5], 1e-4f);
        difference.Components.Select(c => c.Label).Should().Equal(AttributionLabels(layers, attnOnly, shortformer));
        ShouldSumTo(difference.Components.Select(c => c.Value).Append(difference.Constant), HeadsOf(difference), difference.Logit);
    }

    [Fact]
    public void A_heads_attribution_is_its_result_through_the_frozen_final_LayerNorm_dotted_with_the_unembedding()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 5);
        var (_, cache) = new HookedTransformer(w).RunWithCache(Tokens,
            n => n.EndsWith("hook_result", StringComparison.Ordinal) || n == HookNames.ResidPost(1));
        var d = ResidualDecomposition.Compute(w, Tokens);

        var attribution = d.Attribute(3, 5).Heads[1][0];
        var (result, final) = (cache[HookNames.Result(1)].Select(2, 0), cache[HookNames.ResidPost(1)]);
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p < Tokens[0].Length; p++)
            {
                // LayerNorm by hand: the head's result centred, divided by the final residual stream's standard deviation
                // (eps 1e-5), times ln_final's weight, dotted with the difference of the two tokens' unembeddings.
                var (x, r) = (Row(final, b, p), Row(result, b, p));
                var sigma = Math.Sqrt(x.Select(v => (v - x.Average()) * (v - x.Average())).Average() + 1e-5);
                var expected = Enumerable.Range(0, r.Length)
                    .Sum(i => (r[i] - r.Average()) / sigma * w.LnFinalW!.Span[i] * (w.W_U[i, 3] - w.W_U[i, 5]));
                ((double)attribution[b, p]).Should().BeApproximately(expected, 1e-5);
            }
        }
    }

    private static double[] Row(Tensor t, int b, int p) => [.. Enumerable.Range(0, t.Dim(2)).Select(i => (double)t[b, p, i])];

    [Fact]
    public void Bad_layers_tokens_and_one_token_sequences_are_refused()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 5);
        var d = ResidualDecomposition.Compute(w, Tokens);
        var single = ResidualDecomposition.Compute(w, [[3], [4]]);

        FluentActions.Invoking(() => d.Decompose(3)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => d.Accumulated(-1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => d.Attribute(11, 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => d.ApplyFinalLayerNorm(new Tensor(2, 5, 8))).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => single.LogitLens()).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => single.LogitLensMeans()).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => ResidualDecomposition.LogitLensMeans(w, [[3], [4]])).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => single.Attribute()).Should().Throw<InvalidOperationException>();
        single.Attribute(1, 2).Logit.Shape.ToArray().Should().Equal(2, 1);
    }

    private static IEnumerable<string> Labels(int layers, bool mid) =>
        Enumerable.Range(0, layers).SelectMany(l => mid ? new[] { $"{l}_pre", $"{l}_mid" } : [$"{l}_pre"]).Append("final_post");

    private static IEnumerable<string> AttributionLabels(int layers, bool attnOnly, bool shortformer) =>
        (shortformer ? new[] { "embed" } : ["embed", "pos_embed"])
        .Concat(Enumerable.Range(0, layers).SelectMany(l => attnOnly ? new[] { $"{l}_attn_bias" } : [$"{l}_attn_bias", $"{l}_mlp_out"]));

    private static IEnumerable<Tensor> HeadsOf(LogitAttribution a) =>
        Enumerable.Range(0, a.Heads.Dim(0)).SelectMany(l => Enumerable.Range(0, a.Heads.Dim(1)).Select(h => a.Heads[l][h]));

    private static Tensor Fill(Tensor row, int rows)
    {
        var t = new Tensor(rows, row.Length);
        for (var r = 0; r < rows; r++)
        {
            row.Span.CopyTo(t[r].Span);
        }

        return t;
    }

    /// <summary>The parts (and the extra ones) sum to <paramref name="whole"/> within 1e-4 of its largest entry's size.</summary>
    private static void ShouldSumTo(IEnumerable<Tensor> parts, IEnumerable<Tensor> more, Tensor whole)
    {
        var sum = new double[whole.Length];
        var count = 0;
        foreach (var part in parts.Concat(more))
        {
            part.Length.Should().Be(whole.Length);
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += part.Span[i];
            }

            count++;
        }

        count.Should().BePositive();
        var scale = Math.Max(1, whole.Span.ToArray().Max(Math.Abs));
        for (var i = 0; i < sum.Length; i++)
        {
            sum[i].Should().BeApproximately(whole.Span[i], 1e-4 * scale, $"element {i}");
        }
    }
}
