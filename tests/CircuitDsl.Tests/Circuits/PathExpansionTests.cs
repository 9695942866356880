using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// The streamed path expansion against the definition computed the long way: every term's logits materialised
/// (<see cref="PathDecomposition"/>'s terms, which sum to the model's logits) and reduced in float64.
/// </summary>
public sealed class PathExpansionTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 0], [7, 7, 5, 10, 1, 2]];

    public static TheoryData<Normalization, bool, bool, int> Architectures() => PathDecompositionTests.Architectures();

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Streamed_norms_shares_and_next_token_logits_equal_those_of_the_materialised_logits(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 60 + layers);
        var expansion = PathExpansion.Compute(w, Tokens);
        foreach (var order in new int?[] { null, 0, 1 })
        {
            var materialised = PathDecomposition.Compute(w, Tokens, order);
            var terms = materialised.Terms.Select(t => ((PathId?)t.Id, t.Logits)).ToList();
            if (materialised.Rest is { } rest)
            {
                terms.Add((null, rest));
            }

            var shares = expansion.Shares(order);

            shares.Select(s => s.Id).Should().Equal(terms.Select(t => t.Item1), $"order {order}: the listing order");
            var squares = terms.Select(t => t.Logits.Span.ToArray().Sum(x => (double)x * x)).ToList();
            var total = squares.Sum();
            for (var i = 0; i < terms.Count; i++)
            {
                var name = $"{terms[i].Item1?.ToString() ?? "rest"} (order {order})";
                shares[i].Norm.Should().BeApproximately(Math.Sqrt(squares[i]), 1e-5 * Math.Max(1, Math.Sqrt(total)), name);
                shares[i].Share.Should().BeApproximately(squares[i] / total, 1e-5, name);
                shares[i].NextTokenLogit.Should().BeApproximately(MeanNextTokenLogit(terms[i].Logits), 1e-5 * Math.Max(1, Math.Sqrt(total)), name);
            }

            shares.Sum(s => s.Share).Should().BeApproximately(1, 1e-9);
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Streamed_importance_and_removal_losses_equal_float64_losses_of_the_materialised_logits(Normalization norm, bool attnOnly, bool shortformer, int layers)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers, seed: 80 + layers);
        var materialised = PathDecomposition.Compute(w, Tokens);
        var expansion = PathExpansion.Compute(w, Tokens);
        var all = Sum(materialised.Terms);
        var full = Float64Loss(all);

        var importance = expansion.Importance();

        importance.Select(i => i.Order).Should().Equal(Enumerable.Range(0, layers + 1));
        foreach (var (order, loss) in importance)
        {
            loss.Should().BeApproximately(Float64Loss(Sum(materialised.Terms.Where(t => t.Id.Order <= order))), 1e-5 * Math.Max(1, full), $"order {order}");
        }

        expansion.Loss().Should().Be(importance[^1].Loss);
        var alone = PathExpansion.Compute(w, Tokens).Loss();
        alone.Should().BeApproximately(importance[^1].Loss, 1e-9 * Math.Abs(alone), "the model's loss alone, or reduced with every order's");
        foreach (var term in materialised.Terms)
        {
            var without = Float64Loss(Sum(materialised.Terms.Where(t => t != term)));
            expansion.RemovalLossChange([term.Id]).Should().BeApproximately(without - full, 1e-5 * Math.Max(1, full), term.Id.ToString());
        }

        if (layers >= 2)
        {
            var above = Float64Loss(Sum(materialised.Terms.Where(t => t.Id.Order <= 1)));
            expansion.RemovalLossChange([], restAbove: 1).Should().BeApproximately(above - full, 1e-5 * Math.Max(1, full), "the rest above order 1");
            var two = materialised.Terms.Where(t => t.Id.Order == 1).Take(2).ToList();
            expansion.RemovalLossChange(two.Select(t => t.Id)).Should().BeApproximately(
                Float64Loss(Sum(materialised.Terms.Except(two))) - full, 1e-5 * Math.Max(1, full), "two terms at once");
        }
    }

    [Fact]
    public void A_path_the_model_does_not_have_or_too_many_paths_are_refused()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: true, shortformer: true, layers: 2, seed: 3);
        var expansion = PathExpansion.Compute(w, Tokens);

        expansion.Invoking(e => e.RemovalLossChange([new PathId(PathSource.Embed, new HeadId(2, 0))])).Should().Throw<ArgumentException>()
            .WithMessage("This model has no path embed → 2.0.*");
        expansion.Invoking(e => e.RemovalLossChange([new PathId(PathSource.PosEmbed)])).Should().Throw<ArgumentException>()
            .WithMessage("This model has no path pos_embed.*", "shortformer positions are no source");
        expansion.Invoking(e => e.RemovalLossChange([new PathId(PathSource.Mlp(0))])).Should().Throw<ArgumentException>();
        expansion.Invoking(e => e.Shares(-1)).Should().Throw<ArgumentException>().WithMessage("The largest path order must be 0 or more, not -1.*");
        var deep = RandomWeights.Create(RandomWeights.Config(layers: 8, heads: 4), seed: 1);
        PathExpansion.Compute(deep, Tokens).Invoking(e => e.Unembed(null, (_, _) => { })).Should().Throw<ArgumentException>()
            .WithMessage("This model has * paths of order up to 8, more than the 4096 terms*--order*");
    }

    private static Tensor Sum(IEnumerable<PathContribution> terms)
    {
        var list = terms.ToList();
        var sum = new Tensor(list[0].Logits.Shape.ToArray());
        foreach (var term in list)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum.Span[i] += term.Logits.Span[i];
            }
        }

        return sum;
    }

    /// <summary>The mean over predicting positions of the logit of the token that comes next.</summary>
    private static double MeanNextTokenLogit(Tensor logits)
    {
        int positions = logits.Dim(1), vocab = logits.Dim(2);
        double sum = 0;
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p < positions - 1; p++)
            {
                sum += logits.Span[(((b * positions) + p) * vocab) + Tokens[b][p + 1]];
            }
        }

        return sum / (Tokens.Length * (positions - 1));
    }

    /// <summary>Mean next-token cross-entropy, every step in double.</summary>
    private static double Float64Loss(Tensor logits)
    {
        int positions = logits.Dim(1), vocab = logits.Dim(2);
        double sum = 0;
        for (var b = 0; b < Tokens.Length; b++)
        {
            for (var p = 0; p < positions - 1; p++)
            {
                var row = logits.Span.Slice(((b * positions) + p) * vocab, vocab).ToArray().Select(x => (double)x).ToArray();
                var max = row.Max();
                sum += max + Math.Log(row.Sum(x => Math.Exp(x - max))) - row[Tokens[b][p + 1]];
            }
        }

        return sum / (Tokens.Length * (positions - 1));
    }
    [Fact]
    public void An_overflowing_partial_sum_of_term_importance_names_the_batch_sequence_it_is_in()
    {
        // Head 0.0 reads only token 7's first embedding dimension and writes it ~1e38 strong; layer 1 reads nothing. So
        // the paths of order ≤ 1 overflow only where token 7 is attended to (sequence 1 from position 1 on), while the
        // embeddings alone (order 0) do not: the stacked pass of the partial sums meets its first bad row in the second
        // order's copy of sequence 1, and must name sequence 1 of the batch.
        var w = RandomWeights.Create(RandomWeights.Config(), seed: 21);
        int dm = w.Config.DModel, dh = w.Config.DHead;
        for (var t = 0; t < w.Config.DVocab; t++)
        {
            w.W_E.Span[t * dm] = t == 7 ? 1f : 0f;
        }

        for (var p = 0; p < w.Config.NCtx; p++)
        {
            w.W_pos.Span[p * dm] = 0f;
        }

        foreach (var block in w.Blocks)
        {
            block.W_V.Span.Clear();
            block.b_V.Span.Clear();
            block.W_O.Span.Clear();
        }

        w.Blocks[1].W_Q.Span.Clear();
        w.Blocks[1].W_K.Span.Clear();
        w.Blocks[0].W_V.Span[..dh].Fill(1f); // head 0, input dimension 0
        w.Blocks[0].W_O.Span[..(dh * dm)].Fill(1e38f); // head 0
        System.Numerics.Tensors.TensorPrimitives.Multiply(w.W_U.Span, 1000f, w.W_U.Span); // order 0's logits stay in the thousands

        var expansion = PathExpansion.Compute(w, [[1, 2, 3, 4], [5, 7, 6, 8]]);
        var act = () => expansion.Importance();

        var error = act.Should().Throw<NonFiniteLogitException>().Which;
        (error.Sequence, error.Position).Should().Be((1, 1));
    }
}
