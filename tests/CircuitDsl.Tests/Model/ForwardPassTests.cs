using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Model;

public sealed class ForwardPassTests
{
    public static TheoryData<string> Fixtures => new(TorchFixture.Names);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Logits_agree_with_PyTorch_on_the_same_weights(string fixture)
    {
        var f = TorchFixture.Load(fixture);

        var logits = new HookedTransformer(f.Weights).Forward(f.Tokens);

        logits.Shape.ToArray().Should().Equal(f.Tokens.Length, f.Tokens[0].Length, f.Weights.Config.DVocab);
        for (var b = 0; b < f.Tokens.Length; b++)
        {
            for (var p = 0; p < f.Tokens[0].Length; p++)
            {
                for (var v = 0; v < f.Weights.Config.DVocab; v++)
                {
                    logits[b, p, v].Should().BeApproximately((float)f.Logits[b][p][v], 1e-4f, $"logit [{b}, {p}, {v}]");
                }
            }
        }
    }

    [Fact]
    public void A_hand_built_previous_token_head_copies_the_previous_token()
    {
        const int vocab = 5, ctx = 6;
        var weights = HandBuilt.PreviousTokenCopier(vocab, ctx, logitScale: 10f);
        int[][] tokens = [[3, 1, 4, 1, 0, 2], [2, 2, 0, 4, 3, 3]];

        var logits = new HookedTransformer(weights).Forward(tokens);

        for (var b = 0; b < tokens.Length; b++)
        {
            for (var p = 0; p < ctx; p++)
            {
                // Position 0 can only attend to itself; every later one attends (all but exactly) to p - 1.
                var copied = tokens[b][Math.Max(p - 1, 0)];
                for (var v = 0; v < vocab; v++)
                {
                    logits[b, p, v].Should().BeApproximately(v == copied ? 10f : 0f, 1e-4f, $"sequence {b}, position {p}, logit {v}");
                }
            }
        }
    }

    [Fact]
    public void The_pattern_of_the_hand_built_head_is_the_previous_token_pattern()
    {
        var weights = HandBuilt.PreviousTokenCopier(vocab: 4, ctx: 5, logitScale: 1f);

        var (_, cache) = new HookedTransformer(weights).RunWithCache([[0, 1, 2, 3, 0]]);

        var pattern = cache.Pattern(0)[0][0];
        for (var q = 0; q < 5; q++)
        {
            for (var k = 0; k < 5; k++)
            {
                pattern[q, k].Should().BeApproximately(k == Math.Max(q - 1, 0) ? 1f : 0f, 1e-6f, $"pattern [{q}, {k}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_head_results_sum_to_the_attention_output(string fixture)
    {
        var f = TorchFixture.Load(fixture);
        var config = f.Weights.Config;

        var (_, cache) = new HookedTransformer(f.Weights).RunWithCache(f.Tokens);

        for (var layer = 0; layer < config.NLayers; layer++)
        {
            var result = cache[HookNames.Result(layer)];
            var attnOut = cache[HookNames.AttnOut(layer)];
            var bO = f.Weights.Blocks[layer].b_O.Span;
            for (var b = 0; b < f.Tokens.Length; b++)
            {
                for (var p = 0; p < f.Tokens[0].Length; p++)
                {
                    for (var d = 0; d < config.DModel; d++)
                    {
                        double sum = bO[d];
                        for (var h = 0; h < config.NHeads; h++)
                        {
                            sum += result[b][p][h][d].Span[0];
                        }

                        attnOut[b, p, d].Should().BeApproximately((float)sum, 1e-4f);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void The_last_position_alone_gives_the_whole_passs_last_position(string fixture)
    {
        var f = TorchFixture.Load(fixture);
        var model = new HookedTransformer(f.Weights);
        int batch = f.Tokens.Length, n = f.Tokens[0].Length, dm = f.Weights.Config.DModel, last = f.Weights.Config.NLayers - 1;
        var whole = model.Begin(f.Tokens);
        for (var l = 0; l <= last; l++)
        {
            whole.Block(l);
        }

        var expected = whole.FinalResidual();
        var seen = new List<int[]>();
        foreach (var hooks in new HookSet?[] { null, new HookSet().Add(HookNames.AttnOut(last), a => seen.Add(a.Shape.ToArray())) })
        {
            var final = model.Begin(f.Tokens, hooks).FinalResidualAtLastPosition();

            final.Shape.ToArray().Should().Equal(batch, 1, dm);
            for (var b = 0; b < batch; b++)
            {
                for (var i = 0; i < dm; i++)
                {
                    final[b, 0, i].Should().BeApproximately(expected[b, n - 1, i], 1e-5f, $"sequence {b}, element {i}");
                }
            }
        }

        if (last >= 0)
        {
            seen.Should().ContainSingle().Which.Should().Equal([batch, n, dm], "a hook in the last block sees every position");
        }
    }

    [Fact]
    public void Asking_for_per_head_results_does_not_change_the_logits()
    {
        var f = TorchFixture.Load("attn_only_2l");
        var model = new HookedTransformer(f.Weights);

        var plain = model.Forward(f.Tokens);
        var (withResults, _) = model.RunWithCache(f.Tokens, name => name.EndsWith("hook_result", StringComparison.Ordinal));

        withResults.Span.ToArray().Should().Equal(plain.Span.ToArray(), (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1f, Math.Abs(b)));
    }

    [Fact]
    public void Zeroing_every_head_leaves_the_direct_path()
    {
        var f = TorchFixture.Load("attn_only_2l");
        var w = f.Weights;
        var hooks = new HookSet();
        for (var layer = 0; layer < w.Config.NLayers; layer++)
        {
            hooks.Add(HookNames.Z(layer), z => z.Span.Clear());
        }

        var logits = new HookedTransformer(w).Forward(f.Tokens, hooks);

        // With every z zero, each layer adds only b_O: logits = (W_E[t] + W_pos[p] + Σ b_O) W_U + b_U.
        var dm = w.Config.DModel;
        for (var b = 0; b < f.Tokens.Length; b++)
        {
            for (var p = 0; p < f.Tokens[0].Length; p++)
            {
                var resid = new double[dm];
                for (var d = 0; d < dm; d++)
                {
                    resid[d] = w.W_E[f.Tokens[b][p]].Span[d] + w.W_pos[p].Span[d] + w.Blocks.Sum(blk => (double)blk.b_O.Span[d]);
                }

                for (var v = 0; v < w.Config.DVocab; v++)
                {
                    var expected = w.b_U.Span[v] + Enumerable.Range(0, dm).Sum(d => resid[d] * w.W_U[d, v]);
                    logits[b, p, v].Should().BeApproximately((float)expected, 1e-4f);
                }
            }
        }
    }

    [Fact]
    public void The_cache_holds_every_hook_point_with_TransformerLens_shapes()
    {
        var f = TorchFixture.Load("ln_mlp_gelu_new");
        var c = f.Weights.Config;
        int batch = f.Tokens.Length, n = f.Tokens[0].Length;

        var (_, cache) = new HookedTransformer(f.Weights).RunWithCache(f.Tokens);

        cache[HookNames.Embed].Shape.ToArray().Should().Equal(batch, n, c.DModel);
        cache[HookNames.Q(1)].Shape.ToArray().Should().Equal(batch, n, c.NHeads, c.DHead);
        cache[HookNames.AttnScores(1)].Shape.ToArray().Should().Equal(batch, c.NHeads, n, n);
        cache[HookNames.Pattern(0)].Shape.ToArray().Should().Equal(batch, c.NHeads, n, n);
        cache[HookNames.Z(0)].Shape.ToArray().Should().Equal(batch, n, c.NHeads, c.DHead);
        cache[HookNames.Result(0)].Shape.ToArray().Should().Equal(batch, n, c.NHeads, c.DModel);
        cache[HookNames.MlpPost(1)].Shape.ToArray().Should().Equal(batch, n, c.DMlp!.Value);
        cache[HookNames.ResidMid(1)].Shape.ToArray().Should().Equal(batch, n, c.DModel);
        cache.ContainsKey(HookNames.FinalNormalized).Should().BeTrue();
        cache[HookNames.AttnScores(0)][0][0][0, 1].Should().Be(float.NegativeInfinity, "scores are masked above the diagonal");

        // With both cached, the pattern is its own tensor: the softmax of the cached scores' causal part, zero above.
        var (scores, pattern) = (cache[HookNames.AttnScores(1)], cache[HookNames.Pattern(1)]);
        for (var b = 0; b < batch; b++)
        {
            for (var h = 0; h < c.NHeads; h++)
            {
                for (var i = 0; i < n; i++)
                {
                    var row = Enumerable.Range(0, i + 1).Select(j => (double)scores[b][h][i, j]).ToArray();
                    var total = row.Sum(x => Math.Exp(x - row.Max()));
                    for (var j = 0; j < n; j++)
                    {
                        var expected = j <= i ? Math.Exp(row[j] - row.Max()) / total : 0;
                        pattern[b][h][i, j].Should().BeApproximately((float)expected, 1e-6f, $"pattern[{b}, {h}, {i}, {j}]");
                    }
                }
            }
        }
    }

    [Fact]
    public void A_filtered_cache_records_only_what_was_asked_for()
    {
        var f = TorchFixture.Load("attn_only_2l");

        var (_, cache) = new HookedTransformer(f.Weights).RunWithCache(f.Tokens, name => name.EndsWith("hook_pattern", StringComparison.Ordinal));

        cache.Keys.Should().BeEquivalentTo(HookNames.Pattern(0), HookNames.Pattern(1));
    }

    [Theory]
    [InlineData(new int[0], "no sequences")]
    [InlineData(new[] { 1, 2, 99 }, "Token id 99 at sequence 0, position 2 is outside the vocabulary [0, 11)")]
    [InlineData(new[] { -1 }, "Token id -1")]
    [InlineData(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, "n_ctx=7")]
    public void Bad_tokens_are_refused_with_a_specific_message(int[] sequence, string message)
    {
        var f = TorchFixture.Load("attn_only_2l");
        int[][] tokens = sequence.Length == 0 ? [] : [sequence];

        var act = () => new HookedTransformer(f.Weights).Forward(tokens);

        act.Should().Throw<ArgumentException>().WithMessage($"*{message}*");
    }

    [Fact]
    public void Ragged_batches_are_refused()
    {
        var f = TorchFixture.Load("attn_only_2l");

        var act = () => new HookedTransformer(f.Weights).Forward([[1, 2, 3], [1, 2]]);

        act.Should().Throw<ArgumentException>().WithMessage("Sequence 1 has 2 tokens; sequence 0 has 3*");
    }
}
