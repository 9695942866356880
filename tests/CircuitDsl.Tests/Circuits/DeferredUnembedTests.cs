using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// GPT-2's tied unembedding (<c>W_U = wteᵀ</c>) is computed only when read, and processed in place it stays so: the
/// processed <c>W_U</c> that <c>inspect</c> never holds must have the values of processing a copy, and the copying
/// scores' chunked <c>W_U · W_E</c> must equal the product of the stored processed matrices. References: the copy path
/// (<see cref="WeightProcessing.Apply"/>, which holds every matrix), and TransformerLens's processing of the unembedding
/// and the product written out here in float64 from the checkpoint's own tensors.
/// </summary>
public sealed class DeferredUnembedTests
{
    /// <summary>A vocabulary over several of the processing's column blocks (1024) and two of the product's (8192), with a ragged end.</summary>
    private static readonly ModelConfig Config = new()
    {
        NLayers = 2, NHeads = 2, DModel = 16, DHead = 8, DVocab = 9001, NCtx = 8, DMlp = 64, AttnOnly = false,
        ActFn = ActivationFunction.GeluNew, NormalizationType = Normalization.LN,
    };

    /// <summary>A random GPT-2 checkpoint under <c>GPT2LMHeadModel</c>'s names, without <c>lm_head</c> (tied).</summary>
    private static Dictionary<string, Tensor> Checkpoint(int seed)
    {
        var random = new Random(seed);
        int d = Config.DModel, mlp = Config.DMlp!.Value;
        Tensor R(float mean, float scale, params int[] shape)
        {
            var t = new Tensor(shape);
            foreach (ref var x in t.Span)
            {
                x = mean + (scale * (float)((random.NextDouble() * 2) - 1));
            }

            return t;
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            // An offset in wte, so centring over d_model and over the vocabulary both move it.
            ["wte.weight"] = R(0.05f, 0.3f, Config.DVocab, d),
            ["wpe.weight"] = R(0f, 0.1f, Config.NCtx, d),
            ["ln_f.weight"] = R(1f, 0.5f, d),
            ["ln_f.bias"] = R(0f, 0.3f, d),
        };
        for (var l = 0; l < Config.NLayers; l++)
        {
            var p = $"h.{l}.";
            tensors[p + "ln_1.weight"] = R(1f, 0.3f, d);
            tensors[p + "ln_1.bias"] = R(0f, 0.1f, d);
            tensors[p + "attn.c_attn.weight"] = R(0f, 0.3f, d, 3 * d);
            tensors[p + "attn.c_attn.bias"] = R(0f, 0.1f, 3 * d);
            tensors[p + "attn.c_proj.weight"] = R(0f, 0.3f, d, d);
            tensors[p + "attn.c_proj.bias"] = R(0f, 0.1f, d);
            tensors[p + "ln_2.weight"] = R(1f, 0.3f, d);
            tensors[p + "ln_2.bias"] = R(0f, 0.1f, d);
            tensors[p + "mlp.c_fc.weight"] = R(0f, 0.3f, d, mlp);
            tensors[p + "mlp.c_fc.bias"] = R(0f, 0.1f, mlp);
            tensors[p + "mlp.c_proj.weight"] = R(0f, 0.3f, mlp, d);
            tensors[p + "mlp.c_proj.bias"] = R(0f, 0.1f, d);
        }

        return tensors;
    }

    private static TransformerWeights Load(Dictionary<string, Tensor> checkpoint) =>
        TransformerWeights.FromStateDict(Config, Gpt2Checkpoint.ToTransformerLens(Config, checkpoint, "<test>"), "<test>");

    [Fact]
    public void A_tied_W_U_is_wte_transposed_computed_only_when_its_span_is_taken()
    {
        var checkpoint = Checkpoint(seed: 3);
        var weights = Load(checkpoint);

        DeferredMatrix.IsPending(weights.W_U).Should().BeTrue();
        var columns = new float[Config.DModel * 100];
        DeferredMatrix.CopyColumns(weights.W_U, 4090, 100, columns);
        DeferredMatrix.IsPending(weights.W_U).Should().BeTrue("reading columns computes only those columns");
        ModelAnalysis.FindNonFinite(weights).Should().BeNull();
        DeferredMatrix.IsPending(weights.W_U).Should().BeTrue("the finiteness scan reads wte, not its transpose");

        var wte = checkpoint["wte.weight"].Span;
        for (var i = 0; i < Config.DModel; i++)
        {
            for (var j = 0; j < 100; j++)
            {
                columns[(i * 100) + j].Should().Be(wte[((4090 + j) * Config.DModel) + i]);
            }
        }

        weights.W_U.Span.ToArray().Should().Equal(checkpoint["wte.weight"].Transpose().Span.ToArray());
        DeferredMatrix.IsPending(weights.W_U).Should().BeFalse();
    }

    [Fact]
    public void Products_with_a_tied_W_U_read_wte_where_it_is_with_the_floats_of_the_computed_matrix()
    {
        var weights = Load(Checkpoint(seed: 11));
        int dm = Config.DModel, vocab = Config.DVocab, rows = 5;
        var held = new Tensor(dm, vocab);
        DeferredMatrix.CopyColumns(weights.W_U, 0, vocab, held.Span);
        var random = new Random(2);
        var x = new float[rows * dm];
        foreach (ref var v in x.AsSpan())
        {
            v = (float)((random.NextDouble() * 2) - 1);
        }

        // Columns from the middle of the vocabulary to its ragged end, onto c = 1 (beta 1) and from nothing (beta 0):
        // the managed kernel packs wte's rows as it packs the computed matrix's columns, so the floats are the same.
        var gemm = new ManagedGemm();
        foreach (var beta in new[] { 0f, 1f })
        {
            var deferred = Enumerable.Repeat(1f, rows * 4001).ToArray();
            var reference = deferred.ToArray();
            DeferredMatrix.MultiplyColumns(gemm, rows, x, weights.W_U, 5000, 4001, beta, deferred);
            DeferredMatrix.MultiplyColumns(gemm, rows, x, held, 5000, 4001, beta, reference);
            deferred.Should().Equal(reference);
        }

        var logits = Gemm.MatMul(new Tensor(x, rows, dm), weights.W_U);
        logits.Span.ToArray().Should().Equal(Gemm.MatMul(new Tensor(x, rows, dm), held).Span.ToArray());

        // G = W_U W_Uᵀ = wteᵀ wte, against float64 sums over the vocabulary.
        var gram = DeferredMatrix.Gram(weights.W_U);
        var u = held.Span.ToArray();
        for (var i = 0; i < dm; i++)
        {
            for (var k = 0; k < dm; k++)
            {
                double sum = 0;
                for (var j = 0; j < vocab; j++)
                {
                    sum += (double)u[(i * vocab) + j] * u[(k * vocab) + j];
                }

                gram[i, k].Should().BeApproximately((float)sum, (float)(1e-5 * Math.Max(1, Math.Abs(sum))));
            }
        }

        DeferredMatrix.IsPending(weights.W_U).Should().BeTrue("no product computed the transpose whole");
    }

    [Fact]
    public void The_loss_logits_and_path_terms_of_a_tied_model_never_compute_W_U_whole()
    {
        var tokens = new[] { new[] { 5, 9000, 17, 4096, 3 }, new[] { 8999, 0, 1, 2, 4500 } };
        var deferred = new HookedTransformer(Load(Checkpoint(seed: 13)));
        var held = Load(Checkpoint(seed: 13));
        _ = held.W_U.Span; // computed and held: every product reads the matrix
        var reference = new HookedTransformer(held);

        Losses.NextTokenCrossEntropy(deferred, tokens).Should().Be(Losses.NextTokenCrossEntropy(reference, tokens));
        deferred.Forward(tokens).Span.ToArray().Should().Equal(reference.Forward(tokens).Span.ToArray());
        var terms = PathExpansion.Compute(deferred.Weights, tokens).Shares(maxOrder: 1);
        terms.Select(t => t.Share).Should().Equal(PathExpansion.Compute(held, tokens).Shares(maxOrder: 1).Select(t => t.Share));
        DeferredMatrix.IsPending(deferred.Weights.W_U).Should().BeTrue();
    }

    [Fact]
    public void Processing_in_place_keeps_a_tied_W_U_and_the_centred_W_E_deferred_with_the_values_of_processing_a_copy()
    {
        var inPlace = WeightProcessing.ApplyInPlace(Load(Checkpoint(seed: 5))).Weights;
        var copied = WeightProcessing.Apply(Load(Checkpoint(seed: 5))).Weights;

        DeferredMatrix.IsPending(inPlace.W_U).Should().BeTrue();
        DeferredMatrix.IsPending(copied.W_U).Should().BeFalse();
        DeferredMatrix.IsPending(inPlace.W_E).Should().BeTrue("W_E is centred a row at a time when read");
        var product = CopyingScores.UnembedEmbed(inPlace);
        DeferredMatrix.IsPending(inPlace.W_U).Should().BeTrue("W_U · W_E is formed a vocabulary chunk at a time");
        DeferredMatrix.IsPending(inPlace.W_E).Should().BeTrue("the embedding's rows are centred a chunk at a time");
        product.Span.ToArray().Should().Equal(CopyingScores.UnembedEmbed(copied).Span.ToArray());
        var scores = CopyingScores.Compute(inPlace);
        var copiedScores = CopyingScores.Compute(copied);
        for (var l = 0; l < Config.NLayers; l++)
        {
            for (var h = 0; h < Config.NHeads; h++)
            {
                scores.Score(new HeadId(l, h)).Should().Be(copiedScores.Score(new HeadId(l, h)));
            }
        }

        // The chunked product equals the stored processed matrices' product, summed here in float64.
        int dm = Config.DModel, vocab = Config.DVocab;
        var (u, e) = (copied.W_U.Span.ToArray(), copied.W_E.Span.ToArray());
        double error = 0, norm = 0;
        for (var i = 0; i < dm; i++)
        {
            for (var k = 0; k < dm; k++)
            {
                double sum = 0;
                for (var j = 0; j < vocab; j++)
                {
                    sum += (double)u[(i * vocab) + j] * e[(j * dm) + k];
                }

                error += Math.Pow(product[i, k] - sum, 2);
                norm += sum * sum;
            }
        }

        Math.Sqrt(error / norm).Should().BeLessThan(1e-6);

        // The embedding's rows of a batch, centred as they are gathered (the unembedding is computed by now).
        int[][] tokens = [[1, 8999, 4500, 7, 7, 9000, 0, 3], [2, 5, 8000, 8000, 13, 1, 6000, 4]];
        Losses.NextTokenCrossEntropy(new HookedTransformer(inPlace), tokens)
            .Should().Be(Losses.NextTokenCrossEntropy(new HookedTransformer(copied), tokens));
        DeferredMatrix.IsPending(inPlace.W_E).Should().BeTrue("a forward pass computes only its tokens' rows");

        inPlace.W_U.Span.ToArray().Should().Equal(u);
        inPlace.b_U.Span.ToArray().Should().Equal(copied.b_U.Span.ToArray());
        inPlace.W_E.Span.ToArray().Should().Equal(e);
    }

    [Fact]
    public void The_processed_tied_unembedding_is_TransformerLens_fold_and_centring_of_wte_transposed()
    {
        var checkpoint = Checkpoint(seed: 7);
        var processed = WeightProcessing.ApplyInPlace(Load(Checkpoint(seed: 7))).Weights;
        int dm = Config.DModel, vocab = Config.DVocab;
        var (wte, g, beta) = (checkpoint["wte.weight"].Span.ToArray(), checkpoint["ln_f.weight"].Span.ToArray(), checkpoint["ln_f.bias"].Span.ToArray());

        // fold_ln: W_U = diag(ln_f.w) · wteᵀ, b_U = ln_f.b · wteᵀ; each column minus its mean over d_model;
        // center_unembed: each row of W_U, and b_U, minus its mean over the vocabulary. All in float64.
        var w = new double[dm, vocab];
        var b = new double[vocab];
        for (var j = 0; j < vocab; j++)
        {
            double mean = 0;
            for (var i = 0; i < dm; i++)
            {
                w[i, j] = (double)g[i] * wte[(j * dm) + i];
                b[j] += (double)beta[i] * wte[(j * dm) + i];
                mean += w[i, j] / dm;
            }

            for (var i = 0; i < dm; i++)
            {
                w[i, j] -= mean;
            }
        }

        var bMean = b.Average();
        double maxError = 0, maxValue = 0;
        for (var i = 0; i < dm; i++)
        {
            var rowMean = Enumerable.Range(0, vocab).Average(j => w[i, j]);
            for (var j = 0; j < vocab; j++)
            {
                maxError = Math.Max(maxError, Math.Abs(processed.W_U[i, j] - (w[i, j] - rowMean)));
                maxValue = Math.Max(maxValue, Math.Abs(w[i, j] - rowMean));
            }
        }

        (maxError / maxValue).Should().BeLessThan(1e-6);
        for (var j = 0; j < vocab; j++)
        {
            processed.b_U.Span[j].Should().BeApproximately((float)(b[j] - bMean), 1e-6f);
        }
    }

    [Fact]
    public void Columns_read_transposed_are_the_columns_with_the_same_floats_whatever_the_matrix_is()
    {
        // A tied W_U (a transpose, read from wte's rows), the processed tied W_U (fold and centring along each row), the
        // centred W_E (computed by rows: the general path, columns then a transpose) and a held matrix, against each
        // one's columns transposed here element by element.
        var processed = WeightProcessing.ApplyInPlace(Load(Checkpoint(seed: 17))).Weights;
        var matrices = new[] { Load(Checkpoint(seed: 17)).W_U, processed.W_U, processed.W_E, Checkpoint(seed: 17)["wte.weight"] };
        foreach (var matrix in matrices)
        {
            var pending = DeferredMatrix.IsPending(matrix);
            int rows = matrix.Dim(0), start = matrix.Dim(1) - 7 - Math.Min(matrix.Dim(1) - 7, 2000), count = matrix.Dim(1) - start - 2;
            var columns = new float[rows * count];
            var transposed = new float[rows * count];
            DeferredMatrix.CopyColumns(matrix, start, count, columns);
            DeferredMatrix.CopyColumnsTransposed(matrix, start, count, transposed);
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < count; j++)
                {
                    transposed[(j * rows) + i].Should().Be(columns[(i * count) + j]);
                }
            }

            DeferredMatrix.IsPending(matrix).Should().Be(pending, "reading columns computes only those columns");
        }
    }
}
