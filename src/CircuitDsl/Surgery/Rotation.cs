using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace CircuitDsl.Surgery;

/// <summary>Which bases <see cref="Rotation.Rotate"/> rotates (any combination).</summary>
[Flags]
public enum RotatedBases
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The residual stream, and every weight that reads or writes it: leaves the logits unchanged.</summary>
    ResidualStream = 1,

    /// <summary>Each head's <c>d_head</c> basis, queries with keys and values with outputs: leaves the logits unchanged.</summary>
    HeadBases = 2,

    /// <summary>Each MLP's hidden basis: changes the logits, because the activation acts neuron by neuron.</summary>
    Neurons = 4,
}

/// <summary>The two rotations of one head's <c>d_head</c> basis (see <see cref="Rotation.RotateHeadBases"/>).</summary>
/// <param name="QueryKey">Applied to the queries and the keys together, <c>[d_head, d_head]</c>.</param>
/// <param name="ValueOutput">Applied to the values, and undone by the output, <c>[d_head, d_head]</c>.</param>
public sealed record HeadBasis(Matrix<double> QueryKey, Matrix<double> ValueOutput);

/// <summary>How much a model's logits moved (see <see cref="Rotation.Compare"/>).</summary>
/// <param name="MaxAbsDifference">The largest absolute difference of a logit.</param>
/// <param name="Relative"><see cref="MaxAbsDifference"/> over the largest absolute logit of the original.</param>
/// <param name="LossBefore">The original model's mean next-token loss on the tokens (nats).</param>
/// <param name="LossAfter">The changed model's mean next-token loss on the tokens (nats).</param>
public sealed record LogitChange(double MaxAbsDifference, double Relative, double LossBefore, double LossAfter);

/// <summary>
/// Orthogonal changes of basis of a model's weights (docs/mix-and-match.md, "Rotations"). The residual stream has no
/// privileged basis: rotating it and every weight that reads or writes it leaves the model's function unchanged — with
/// LayerNorm, only for rotations that fix the all-ones direction, since LayerNorm subtracts the mean along it. Nor do a
/// head's query/key and value/output bases. An MLP's hidden basis is privileged: its activation acts neuron by neuron.
/// </summary>
public static class Rotation
{
    /// <summary>
    /// A random orthogonal <c>n × n</c> matrix, uniform over the orthogonal group (Haar): a matrix of standard normals,
    /// drawn row by row from <paramref name="rng"/> (Box–Muller), whose QR factors give <c>Q · diag(sign(diag R))</c>.
    /// </summary>
    public static Matrix<double> RandomOrthogonal(int n, Random rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentNullException.ThrowIfNull(rng);
        var g = Matrix<double>.Build.Dense(n, n);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                g[i, j] = Gaussian.Next(rng);
            }
        }

        var qr = g.QR(QRMethod.Full);
        var q = qr.Q;
        for (var j = 0; j < n; j++)
        {
            if (qr.R[j, j] < 0)
            {
                q.SetColumn(j, q.Column(j).Negate());
            }
        }

        return q;
    }

    /// <summary>
    /// A random orthogonal <c>n × n</c> matrix that maps the all-ones vector to itself: <c>u uᵀ + B Q Bᵀ</c>, with
    /// <c>u = 1/√n</c>, <c>B</c> the Helmert basis of the directions orthogonal to it (column <c>k</c> = 1…n−1 is
    /// <c>(1, …, 1, −k, 0, …, 0) / √(k(k+1))</c>, <c>k</c> ones), and <c>Q</c> a <see cref="RandomOrthogonal"/> matrix of
    /// size <c>n − 1</c>. Uniform over the rotations that fix the all-ones direction.
    /// </summary>
    public static Matrix<double> RandomOrthogonalFixingOnes(int n, Random rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentNullException.ThrowIfNull(rng);
        var result = Matrix<double>.Build.Dense(n, n, 1.0 / n);
        if (n == 1)
        {
            return result;
        }

        var b = Matrix<double>.Build.Dense(n, n - 1);
        for (var k = 1; k < n; k++)
        {
            var norm = Math.Sqrt(k * (k + 1.0));
            for (var i = 0; i < k; i++)
            {
                b[i, k - 1] = 1 / norm;
            }

            b[k, k - 1] = -k / norm;
        }

        return result + (b * RandomOrthogonal(n - 1, rng) * b.Transpose());
    }

    /// <summary>
    /// Rotates what <paramref name="what"/> names with matrices drawn from <c>new Random(seed)</c> in this order: the
    /// residual stream's (<see cref="RandomOrthogonalFixingOnes"/> for a model with LayerNorm, LN or LNPre, else
    /// <see cref="RandomOrthogonal"/>), then layer by layer and head by head each head's query/key then value/output
    /// rotation, then layer by layer each MLP's; only what is asked for is drawn.
    /// </summary>
    /// <exception cref="ArgumentException">Nothing to rotate, neurons of an attention-only model, or see <see cref="RotateResidualStream"/>.</exception>
    public static TransformerWeights Rotate(TransformerWeights weights, RotatedBases what, int seed)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var c = weights.Config;
        if (what == RotatedBases.None)
        {
            throw new ArgumentException("Nothing to rotate.", nameof(what));
        }

        if (what.HasFlag(RotatedBases.Neurons) && !c.HasMlp)
        {
            throw new ArgumentException("The model is attention-only: it has no MLP neurons to rotate.", nameof(what));
        }

        var rng = new Random(seed);
        var result = weights;
        if (what.HasFlag(RotatedBases.ResidualStream))
        {
            var r = c.HasLayerNorm ? RandomOrthogonalFixingOnes(c.DModel, rng) : RandomOrthogonal(c.DModel, rng);
            result = RotateResidualStream(result, r);
        }

        if (what.HasFlag(RotatedBases.HeadBases))
        {
            var bases = Enumerable.Range(0, c.NLayers).Select(_ => Enumerable.Range(0, c.NHeads)
                .Select(_ => new HeadBasis(RandomOrthogonal(c.DHead, rng), RandomOrthogonal(c.DHead, rng))).ToArray()).ToArray();
            result = RotateHeadBases(result, bases);
        }

        if (what.HasFlag(RotatedBases.Neurons))
        {
            var bases = Enumerable.Range(0, c.NLayers).Select(_ => RandomOrthogonal(c.DMlp!.Value, rng)).ToArray();
            result = RotateNeurons(result, bases);
        }

        return result;
    }

    /// <summary>
    /// The residual stream rotated by <paramref name="r"/> <c>[d_model, d_model]</c>: every writer <c>W</c> (W_E, W_pos,
    /// W_O, b_O, W_out, b_out) becomes <c>W R</c> and every reader (W_Q, W_K, W_V, W_in, W_U) <c>Rᵀ W</c>. Biases of readers
    /// (b_Q, b_K, b_V, b_in, b_U) are untouched. An <c>LN</c> model first has its LayerNorm weights and biases folded into
    /// the readers (as TransformerLens's <c>fold_ln</c>; its LayerNorms are written with weight 1 and bias 0), because
    /// an elementwise weight does not commute with a rotation. With LayerNorm the model is unchanged only when
    /// <paramref name="r"/> maps the all-ones vector to itself; any other <paramref name="r"/> is applied as given.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="r"/> has the wrong size, or the model is a shortformer with LayerNorm weights (LN): its positions
    /// join the queries' and keys' input after LayerNorm's weight, which therefore cannot be folded.
    /// </exception>
    public static TransformerWeights RotateResidualStream(TransformerWeights weights, Matrix<double> r)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(r);
        var original = weights.Config;
        RequireSquare(r, original.DModel, "the residual stream's rotation");
        if (original.HasLayerNormWeights && original.IsShortformer)
        {
            throw new ArgumentException(
                "The residual stream of a shortformer model with LayerNorm weights (normalization_type LN) cannot be rotated: "
                + "positions join the queries' and keys' input after LayerNorm's elementwise weight, so the weight cannot be folded into W_Q and W_K.",
                nameof(weights));
        }

        var folded = original.HasLayerNormWeights
            ? WeightProcessing.Apply(weights, WeightProcessingOptions.None with { FoldLayerNorm = true }).Weights
            : weights;
        var c = folded.Config;
        var t = StateDict(folded);
        var rot = FactoredMatrix.ToTensor(r);
        foreach (var writer in new[] { "embed.W_E", "pos_embed.W_pos" })
        {
            t[writer] = Right(t[writer], rot);
        }

        for (var l = 0; l < c.NLayers; l++)
        {
            var p = $"blocks.{l}.";
            foreach (var reader in new[] { "attn.W_Q", "attn.W_K", "attn.W_V" })
            {
                t[p + reader] = PerHead(t[p + reader], w => Gemm.MatMul(rot, w, transA: true));
            }

            t[p + "attn.W_O"] = Right(t[p + "attn.W_O"], rot);
            t[p + "attn.b_O"] = Right(t[p + "attn.b_O"], rot);
            if (c.HasMlp)
            {
                t[p + "mlp.W_in"] = Gemm.MatMul(rot, t[p + "mlp.W_in"], transA: true);
                t[p + "mlp.W_out"] = Right(t[p + "mlp.W_out"], rot);
                t[p + "mlp.b_out"] = Right(t[p + "mlp.b_out"], rot);
            }
        }

        t["unembed.W_U"] = Gemm.MatMul(rot, t["unembed.W_U"], transA: true);
        if (original.HasLayerNormWeights)
        {
            // The folded model as the original architecture: LayerNorms whose weight is 1 and bias 0 are LNPre's.
            foreach (var (name, shape) in TransformerWeights.ExpectedTensors(original).Where(e => !t.ContainsKey(e.Name)))
            {
                var unit = new Tensor(shape);
                if (name.EndsWith(".w", StringComparison.Ordinal))
                {
                    unit.Span.Fill(1f);
                }

                t[name] = unit;
            }
        }

        return TransformerWeights.FromStateDict(original, t, "<rotated residual stream>");
    }

    /// <summary>
    /// Each head's <c>d_head</c> bases rotated (<paramref name="bases"/> <c>[layer][head]</c>): with <c>A</c> its
    /// query/key rotation, <c>W_Q A</c>, <c>b_Q A</c>, <c>W_K A</c>, <c>b_K A</c> (so <c>q kᵀ</c> is unchanged); with
    /// <c>B</c> its value/output rotation, <c>W_V B</c>, <c>b_V B</c> and <c>Bᵀ W_O</c> (so <c>z W_O</c> is unchanged).
    /// </summary>
    /// <exception cref="ArgumentException">A rotation is missing or has the wrong size.</exception>
    public static TransformerWeights RotateHeadBases(TransformerWeights weights, IReadOnlyList<IReadOnlyList<HeadBasis>> bases)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bases);
        var c = weights.Config;
        if (bases.Count != c.NLayers || bases.Any(l => l.Count != c.NHeads))
        {
            throw new ArgumentException($"Need one basis per head: {c.NLayers} layers of {c.NHeads} heads.", nameof(bases));
        }

        var t = StateDict(weights);
        for (var l = 0; l < c.NLayers; l++)
        {
            var p = $"blocks.{l}.attn.";
            var qk = bases[l].Select(b => FactoredMatrix.ToTensor(RequireSquare(b.QueryKey, c.DHead, "a query/key rotation"))).ToArray();
            var ov = bases[l].Select(b => FactoredMatrix.ToTensor(RequireSquare(b.ValueOutput, c.DHead, "a value/output rotation"))).ToArray();
            foreach (var x in new[] { "Q", "K" })
            {
                t[p + "W_" + x] = PerHead(t[p + "W_" + x], (h, w) => Gemm.MatMul(w, qk[h]));
                t[p + "b_" + x] = PerHead(t[p + "b_" + x], (h, b) => Gemm.MatMul(b.Reshape(1, c.DHead), qk[h]));
            }

            t[p + "W_V"] = PerHead(t[p + "W_V"], (h, w) => Gemm.MatMul(w, ov[h]));
            t[p + "b_V"] = PerHead(t[p + "b_V"], (h, b) => Gemm.MatMul(b.Reshape(1, c.DHead), ov[h]));
            t[p + "W_O"] = PerHead(t[p + "W_O"], (h, w) => Gemm.MatMul(ov[h], w, transA: true));
        }

        return TransformerWeights.FromStateDict(c, t, "<rotated head bases>");
    }

    /// <summary>
    /// Each MLP's hidden basis rotated by <paramref name="bases"/> <c>[layer]</c> <c>[d_mlp, d_mlp]</c>: <c>W_in N</c>,
    /// <c>b_in N</c>, <c>Nᵀ W_out</c>. Unless <c>N</c> only permutes neurons, this changes the model, because the
    /// activation function acts on each neuron alone.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no MLPs, or a rotation is missing or has the wrong size.</exception>
    public static TransformerWeights RotateNeurons(TransformerWeights weights, IReadOnlyList<Matrix<double>> bases)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bases);
        var c = weights.Config;
        if (!c.HasMlp || bases.Count != c.NLayers)
        {
            throw new ArgumentException($"Need one rotation per MLP ({(c.HasMlp ? c.NLayers : 0)}).", nameof(bases));
        }

        var t = StateDict(weights);
        for (var l = 0; l < c.NLayers; l++)
        {
            var p = $"blocks.{l}.mlp.";
            var n = FactoredMatrix.ToTensor(RequireSquare(bases[l], c.DMlp!.Value, "a neuron rotation"));
            t[p + "W_in"] = Gemm.MatMul(t[p + "W_in"], n);
            t[p + "b_in"] = Right(t[p + "b_in"], n);
            t[p + "W_out"] = Gemm.MatMul(n, t[p + "W_out"], transA: true);
        }

        return TransformerWeights.FromStateDict(c, t, "<rotated neurons>");
    }

    /// <summary>How far <paramref name="changed"/>'s logits on <paramref name="tokens"/> are from <paramref name="original"/>'s.</summary>
    /// <exception cref="ArgumentException">The tokens do not fit the models.</exception>
    public static LogitChange Compare(TransformerWeights original, TransformerWeights changed, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(changed);
        var before = new HookedTransformer(original).Forward(tokens);
        var after = new HookedTransformer(changed).Forward(tokens);
        double maxDiff = 0, maxAbs = 0;
        var a = before.Span;
        var b = after.Span;
        for (var i = 0; i < a.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)a[i] - b[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs((double)a[i]));
        }

        var positions = tokens[0].Length;
        var loss = positions > 1 ? (Losses.NextTokenCrossEntropy(before, tokens), Losses.NextTokenCrossEntropy(after, tokens)) : (double.NaN, double.NaN);
        return new LogitChange(maxDiff, maxAbs == 0 ? maxDiff : maxDiff / maxAbs, loss.Item1, loss.Item2);
    }

    private static Dictionary<string, Tensor> StateDict(TransformerWeights weights) =>
        weights.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static Matrix<double> RequireSquare(Matrix<double> m, int n, string what) =>
        m.RowCount == n && m.ColumnCount == n
            ? m
            : throw new ArgumentException($"{what} must be {n} × {n} (got {m.RowCount} × {m.ColumnCount}).", nameof(m));


    /// <summary><c>x · m</c> over the last axis of <paramref name="x"/> (any rank), as a new tensor of the same shape.</summary>
    private static Tensor Right(Tensor x, Tensor m) =>
        Gemm.MatMul(x.Reshape(x.Length / m.Dim(0), m.Dim(0)), m).Reshape(x.Shape.ToArray());

    private static Tensor PerHead(Tensor x, Func<Tensor, Tensor> f) => PerHead(x, (_, slice) => f(slice));

    /// <summary>A new tensor whose slice <c>h</c> along the first axis is <c>f(h, x[h])</c> (same shape).</summary>
    private static Tensor PerHead(Tensor x, Func<int, Tensor, Tensor> f)
    {
        var result = new Tensor(x.Shape.ToArray());
        for (var h = 0; h < x.Dim(0); h++)
        {
            f(h, x[h]).Span.CopyTo(result[h].Span);
        }

        return result;
    }
}
