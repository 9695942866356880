using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Circuits;
using FluentAssertions;
using Xunit;

namespace CircuitDsl.Tests.Performance;

/// <summary>
/// The shortcuts the benchmarks led to, against independent references: causal row blocks and one-thread
/// products on sequences long enough to use them, in-place weight processing, sequence-by-sequence detection.
/// </summary>
public sealed class FastPathTests
{
    /// <summary>Longer than two row blocks (128), with enough work to take the parallel path.</summary>
    private const int Length = 300;

    /// <summary>
    /// Caching everything takes the path that makes whole score and pattern tensors; caching only <c>hook_z</c> the
    /// fused one, which never holds more than a row block of a head's pattern.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Attention_on_long_sequences_matches_a_naive_double_reference(bool cacheScoresAndPattern)
    {
        var config = RandomWeights.Config(layers: 1, heads: 2, dModel: 8, dHead: 4, vocab: 11, ctx: Length);
        var w = RandomWeights.Create(config, seed: 21);
        var rng = new Random(4);
        int[][] tokens = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, Length).Select(_ => rng.Next(11)).ToArray())];

        var (_, cache) = new HookedTransformer(w).RunWithCache(tokens, cacheScoresAndPattern ? null : n => n == "blocks.0.attn.hook_z");
        var scores = cacheScoresAndPattern ? cache["blocks.0.attn.hook_attn_scores"] : null;
        var pattern = cacheScoresAndPattern ? cache["blocks.0.attn.hook_pattern"] : null;
        var z = cache["blocks.0.attn.hook_z"];

        var b0 = w.Blocks[0];
        for (var b = 0; b < tokens.Length; b++)
        {
            // resid_pre = W_E[t] + W_pos[p] (standard positions, no LayerNorm).
            var x = new double[Length, 8];
            for (var p = 0; p < Length; p++)
            {
                for (var d = 0; d < 8; d++)
                {
                    x[p, d] = w.W_E[tokens[b][p], d] + w.W_pos[p, d];
                }
            }

            for (var h = 0; h < 2; h++)
            {
                var q = Project(x, b0.W_Q[h], b0.b_Q[h]);
                var k = Project(x, b0.W_K[h], b0.b_K[h]);
                var v = Project(x, b0.W_V[h], b0.b_V[h]);
                foreach (var i in new[] { 0, 1, 127, 128, 129, 255, 256, Length - 1 })
                {
                    var s = new double[i + 1];
                    for (var j = 0; j <= i; j++)
                    {
                        for (var e = 0; e < 4; e++)
                        {
                            s[j] += q[i, e] * k[j, e];
                        }

                        s[j] /= 2; // sqrt(d_head)
                        scores?[b][h][i, j].Should().BeApproximately((float)s[j], 1e-4f, $"score {b},{h},{i},{j}");
                    }

                    for (var j = i + 1; j < Length; j++)
                    {
                        scores?[b][h][i, j].Should().Be(float.NegativeInfinity);
                        pattern?[b][h][i, j].Should().Be(0f);
                    }

                    var max = s.Max();
                    var sum = s.Sum(e => Math.Exp(e - max));
                    for (var e = 0; e < 4; e++)
                    {
                        double zi = 0;
                        for (var j = 0; j <= i; j++)
                        {
                            var a = Math.Exp(s[j] - max) / sum;
                            pattern?[b][h][i, j].Should().BeApproximately((float)a, 1e-5f);
                            zi += a * v[j, e];
                        }

                        z[b][i][h, e].Should().BeApproximately((float)zi, 1e-4f, $"z {b},{i},{h},{e}");
                    }
                }
            }
        }
    }

    [Fact]
    public void The_fused_pass_gives_every_row_of_every_pattern_once_in_order_and_bitwise_the_cached_pattern()
    {
        var config = RandomWeights.Config(layers: 2, heads: 3, dModel: 8, dHead: 4, vocab: 11, ctx: Length, norm: Normalization.LN);
        var w = RandomWeights.Create(config, seed: 23);
        var rng = new Random(6);
        int[][] tokens = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, Length).Select(_ => rng.Next(11)).ToArray())];
        // Caching the patterns (and the last residual) takes the path that makes whole pattern tensors; nothing else
        // differs between the two passes (caching hook_result would sum the heads in another order).
        var (_, cache) = new HookedTransformer(w).RunWithCache(tokens,
            n => n.EndsWith("hook_pattern", StringComparison.Ordinal) || n == HookNames.ResidPost(config.NLayers - 1));

        var seen = new float[config.NLayers, tokens.Length, config.NHeads][];
        var nextRow = new int[config.NLayers, tokens.Length, config.NHeads];
        var pass = new ForwardPass(w, tokens, hooks: null, cacheNames: null, (layer, b, h, firstRow, rowCount, rows, stride) =>
        {
            // Each (layer, sequence, head) is observed on one thread, its row blocks in order.
            nextRow[layer, b, h].Should().Be(firstRow);
            nextRow[layer, b, h] = firstRow + rowCount;
            var full = seen[layer, b, h] ??= new float[Length * Length];
            for (var i = 0; i < rowCount; i++)
            {
                rows.Slice(i * stride, firstRow + rowCount).CopyTo(full.AsSpan((firstRow + i) * Length));
            }
        });
        for (var l = 0; l < config.NLayers; l++)
        {
            pass.Block(l);
        }

        pass.Cache.Count.Should().Be(0);
        for (var l = 0; l < config.NLayers; l++)
        {
            var pattern = cache[HookNames.Pattern(l)];
            for (var b = 0; b < tokens.Length; b++)
            {
                for (var h = 0; h < config.NHeads; h++)
                {
                    nextRow[l, b, h].Should().Be(Length);
                    seen[l, b, h].Should().Equal(pattern[b][h].Span.ToArray(), $"layer {l}, sequence {b}, head {h}");
                }
            }
        }

        pass.Residual.Span.ToArray().Should().Equal(cache[HookNames.ResidPost(config.NLayers - 1)].Span.ToArray());
    }

    [Fact]
    public void A_pattern_hook_that_attends_to_later_positions_is_honoured_on_long_sequences()
    {
        var config = RandomWeights.Config(layers: 1, heads: 2, dModel: 8, dHead: 4, vocab: 11, ctx: Length);
        var w = RandomWeights.Create(config, seed: 22);
        int[][] tokens = [[.. Enumerable.Range(0, Length).Select(p => p % 11)], [.. Enumerable.Range(0, Length).Select(p => (3 * p) % 11)]];
        var hooks = new HookSet();
        hooks.Add("blocks.0.attn.hook_pattern", pattern =>
        {
            // Query 0 now also attends fully to the last position, far past its row block.
            pattern[1][1][0, Length - 1] = 1f;
        });

        var (_, cache) = new HookedTransformer(w).RunWithCache(tokens, hooks: hooks);
        var v = cache["blocks.0.attn.hook_v"];
        var z = cache["blocks.0.attn.hook_z"];

        for (var e = 0; e < 4; e++)
        {
            z[1][0][1, e].Should().BeApproximately(v[1][0][1, e] + v[1][Length - 1][1, e], 1e-5f);
        }
    }

    [Fact]
    public void Processing_in_place_gives_the_copying_results_and_writes_into_the_given_tensors()
    {
        var config = RandomWeights.Config(norm: Normalization.LN);
        var copied = WeightProcessing.Apply(RandomWeights.Create(config, seed: 8));
        var original = RandomWeights.Create(config, seed: 8);
        var embed = original.W_E;

        var inPlace = WeightProcessing.ApplyInPlace(original);

        inPlace.Description.Should().Be(copied.Description);
        inPlace.Weights.Config.Should().Be(copied.Weights.Config);
        inPlace.Weights.W_E.Should().BeSameAs(embed, "no tensor is copied");
        var expected = copied.Weights.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, tensor) in inPlace.Weights.ToStateDict())
        {
            tensor.Span.ToArray().Should().Equal(expected[name].Span.ToArray(), name);
        }

        embed.Span.ToArray().Should().Equal(copied.Weights.W_E.Span.ToArray(), "the centring was written into the original tensor");
    }

    [Fact]
    public void A_pass_stopped_at_the_last_layers_patterns_gives_them_bitwise_and_runs_nothing_after()
    {
        var config = RandomWeights.Config(layers: 2, heads: 3, dModel: 8, dHead: 4, vocab: 11, ctx: Length,
            norm: Normalization.LN, attnOnly: false);
        var w = RandomWeights.Create(config, seed: 29);
        var rng = new Random(8);
        int[][] tokens = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, Length).Select(_ => rng.Next(11)).ToArray())];
        var (_, cache) = new HookedTransformer(w).RunWithCache(tokens, n => n.EndsWith("hook_pattern", StringComparison.Ordinal));

        var last = config.NLayers - 1;
        var seen = new float[tokens.Length, config.NHeads][];
        var pass = new ForwardPass(w, tokens, hooks: null, cacheNames: null, (layer, b, h, firstRow, rowCount, rows, stride) =>
        {
            if (layer != last)
            {
                return;
            }

            var full = seen[b, h] ??= new float[Length * Length];
            for (var i = 0; i < rowCount; i++)
            {
                rows.Slice(i * stride, firstRow + rowCount).CopyTo(full.AsSpan((firstRow + i) * Length));
            }
        });
        for (var l = 0; l < last; l++)
        {
            pass.Block(l);
        }

        var before = pass.Residual;
        pass.PatternsOnly(last);

        for (var b = 0; b < tokens.Length; b++)
        {
            for (var h = 0; h < config.NHeads; h++)
            {
                seen[b, h].Should().Equal(cache[HookNames.Pattern(last)][b][h].Span.ToArray(), $"sequence {b}, head {h}");
            }
        }

        pass.Residual.Should().BeSameAs(before, "neither the attention output nor the MLP runs");
        pass.Invoking(p => p.FinalResidual()).Should().Throw<InvalidOperationException>();
        new ForwardPass(w, tokens, hooks: new HookSet(), cacheNames: null, (_, _, _, _, _, _, _) => { })
            .Invoking(p => p.PatternsOnly(0)).Should().Throw<InvalidOperationException>("hooks after the pattern would never run");
    }

    /// <summary>A short context (one row block, one thread) and a long one (several blocks, the parallel path).</summary>
    [Theory]
    [InlineData(9)]
    [InlineData(Length)]
    public void Analysis_in_place_and_sequence_by_sequence_detection_give_the_batched_scores(int ctx)
    {
        var config = RandomWeights.Config(layers: 2, heads: 3, dModel: 8, dHead: 4, vocab: 300, ctx: ctx, norm: Normalization.LN);
        var batch = HeadDetector.DefaultBatch(config);

        var reference = WeightProcessing.Apply(RandomWeights.Create(config, seed: 5)).Weights;
        var patterns = new List<Tensor>();
        var hooks = new HookSet();
        for (var l = 0; l < config.NLayers; l++)
        {
            hooks.Add(HookNames.Pattern(l), patterns.Add);
        }

        new HookedTransformer(reference).Forward(batch, hooks);
        var expected = HeadDetector.Compute(patterns, batch);

        var analysis = new ModelAnalysis(RandomWeights.Create(config, seed: 5), processInPlace: true);
        foreach (var kind in Enum.GetValues<DetectorKind>())
        {
            for (var l = 0; l < config.NLayers; l++)
            {
                for (var h = 0; h < config.NHeads; h++)
                {
                    var head = new HeadId(l, h);
                    analysis.Detectors.Score(kind, head).Should().BeApproximately(expected.Score(kind, head), 1e-6, $"{kind} {head}");
                    analysis.Detectors.TlMul(kind, head).Should().BeApproximately(expected.TlMul(kind, head), 1e-6, $"{kind} {head}");
                }
            }

            analysis.ExamplePattern(new HeadId(1, 2)).Span.ToArray()
                .Should().Equal(patterns[1][0][2].Span.ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        }
    }

    private static double[,] Project(double[,] x, Tensor weight, Tensor bias)
    {
        int rows = x.GetLength(0), dm = x.GetLength(1), dh = weight.Dim(1);
        var result = new double[rows, dh];
        for (var p = 0; p < rows; p++)
        {
            for (var e = 0; e < dh; e++)
            {
                double sum = bias.Span[e];
                for (var d = 0; d < dm; d++)
                {
                    sum += x[p, d] * weight[d, e];
                }

                result[p, e] = sum;
            }
        }

        return result;
    }
}
