using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>The attention behaviours <see cref="HeadDetector"/> scores.</summary>
public enum DetectorKind
{
    /// <summary>Query position <c>i</c> attends to <c>i − 1</c>.</summary>
    PreviousToken,

    /// <summary>Query position <c>i</c> attends to earlier positions holding the same token.</summary>
    DuplicateToken,

    /// <summary>Query position <c>i</c> attends to the position after an earlier copy of its token.</summary>
    Induction,
}

/// <summary>
/// Head detection (MATH.md): a 0/1 detection pattern <c>P</c> per sequence, and the score of an attention
/// pattern <c>A [q, k]</c> against it — the mean, over query rows with at least one target, of the attention
/// mass on the targets; then the mean over sequences. TransformerLens's <c>head_detector</c> "mul" measure,
/// <c>Σ(A ⊙ P) / Σ A</c> over all rows, is computed beside it (<see cref="TlMulScore"/>) for comparison only.
/// Patterns are read, never modified.
/// </summary>
public static class HeadDetector
{
    /// <summary>The seed of <see cref="DefaultBatch"/>.</summary>
    public const int DefaultBatchSeed = 20211222;

    /// <summary>How many sequences <see cref="DefaultBatch"/> has.</summary>
    public const int DefaultBatchSize = 8;

    /// <summary>
    /// The default detection batch: <see cref="DefaultBatchSize"/> sequences <c>h + h</c>, each <c>h</c> being
    /// <c>min((n_ctx − 1) / 2, d_vocab)</c> distinct tokens drawn without replacement by
    /// <c>new Random(DefaultBatchSeed)</c> (a partial Fisher–Yates shuffle of <c>0…d_vocab−1</c> per sequence),
    /// with no BOS token. Every second-half position has a duplicate and an induction target.
    /// </summary>
    public static int[][] DefaultBatch(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var half = Math.Min((config.NCtx - 1) / 2, config.DVocab);
        if (half < 1)
        {
            throw new ArgumentException(
                $"n_ctx {config.NCtx} is too short for a repeated-token detection batch (it needs at least 3).", nameof(config));
        }

        var rng = new Random(DefaultBatchSeed);
        var batch = new int[DefaultBatchSize][];
        var pool = new int[config.DVocab];
        for (var s = 0; s < batch.Length; s++)
        {
            for (var i = 0; i < pool.Length; i++)
            {
                pool[i] = i;
            }

            var seq = new int[2 * half];
            for (var i = 0; i < half; i++)
            {
                var j = rng.Next(i, pool.Length);
                (pool[i], pool[j]) = (pool[j], pool[i]);
                seq[i] = seq[half + i] = pool[i];
            }

            batch[s] = seq;
        }

        return batch;
    }

    /// <summary>The detection pattern <c>P [n, n]</c> (lower-triangular) of <paramref name="kind"/> for one sequence.</summary>
    public static bool[,] DetectionPattern(DetectorKind kind, ReadOnlySpan<int> tokens)
    {
        var n = tokens.Length;
        var p = new bool[n, n];
        for (var i = 0; i < n; i++)
        {
            switch (kind)
            {
                case DetectorKind.PreviousToken:
                    if (i > 0)
                    {
                        p[i, i - 1] = true;
                    }

                    break;
                case DetectorKind.DuplicateToken:
                case DetectorKind.Induction:
                    for (var j = 0; j < i; j++)
                    {
                        if (tokens[j] == tokens[i])
                        {
                            p[i, kind == DetectorKind.DuplicateToken ? j : j + 1] = true;
                        }
                    }

                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown detector.");
            }
        }

        return p;
    }

    /// <summary>
    /// MATH.md's score of one pattern <paramref name="pattern"/> <c>[q, k]</c>: the mean over rows with a target of
    /// <c>Σ_j A[i,j] P[i,j]</c>; NaN when no row has a target.
    /// </summary>
    public static double Score(ReadOnlySpan<float> pattern, bool[,] detection)
    {
        ArgumentNullException.ThrowIfNull(detection);
        var n = CheckSquare(pattern, detection);
        double total = 0;
        var rows = 0;
        for (var i = 0; i < n; i++)
        {
            double mass = 0;
            var any = false;
            for (var j = 0; j < n; j++)
            {
                if (detection[i, j])
                {
                    any = true;
                    mass += pattern[(i * n) + j];
                }
            }

            if (any)
            {
                total += mass;
                rows++;
            }
        }

        return rows == 0 ? double.NaN : total / rows;
    }

    /// <summary>TransformerLens's "mul" measure of one pattern: <c>Σ(A ⊙ P) / Σ A</c> over all rows.</summary>
    public static double TlMulScore(ReadOnlySpan<float> pattern, bool[,] detection)
    {
        ArgumentNullException.ThrowIfNull(detection);
        var n = CheckSquare(pattern, detection);
        double hit = 0, all = 0;
        for (var i = 0; i < n * n; i++)
        {
            all += pattern[i];
            if (detection[i / n, i % n])
            {
                hit += pattern[i];
            }
        }

        return all == 0 ? double.NaN : hit / all;
    }

    /// <summary>
    /// Every head's scores for every detector on a batch: <paramref name="patterns"/> holds one
    /// <c>[batch, n_heads, q, k]</c> tensor per layer (as <c>hook_pattern</c> records it) for <paramref name="tokens"/>.
    /// Each score is the mean over the sequences where it is defined.
    /// </summary>
    public static DetectorScores Compute(IReadOnlyList<Tensor> patterns, int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var builder = new Builder(patterns.Count, patterns.Count == 0 ? 0 : patterns[0].Dim(1), tokens);
        for (var l = 0; l < patterns.Count; l++)
        {
            builder.AddLayer(l, patterns[l]);
        }

        return builder.Build();
    }

    /// <summary>
    /// Scores layer by layer, so a caller can consume each <c>hook_pattern</c> as the forward pass makes it, or
    /// sequence by sequence (<see cref="AddSequence"/>), so a long batch never has to be held at once.
    /// </summary>
    /// <remarks>
    /// Each detection pattern is kept as its list of targets in row-major order, and a score visits only those
    /// (and, for the "mul" measure's denominator, every entry once per head and sequence): the same sums in the
    /// same order as <see cref="Score"/> and <see cref="TlMulScore"/>, so the same numbers, without their
    /// <c>n²</c> walks per detector.
    /// </remarks>
    internal sealed class Builder
    {
        private static readonly DetectorKind[] Kinds = Enum.GetValues<DetectorKind>();
        private readonly int[][] _tokens;
        private readonly int _heads;
        private readonly Targets[][] _targets;
        private readonly double[,,,] _ours;
        private readonly double[,,,] _mul;

        public Builder(int layers, int heads, int[][] tokens)
        {
            ArgumentNullException.ThrowIfNull(tokens);
            _tokens = tokens;
            _heads = heads;
            _targets = Kinds.Select(k => tokens.Select(t => Targets.Of(DetectionPattern(k, t))).ToArray()).ToArray();
            _ours = new double[Kinds.Length, layers, heads, tokens.Length];
            _mul = new double[Kinds.Length, layers, heads, tokens.Length];
        }

        /// <summary>Layer <paramref name="layer"/>'s pattern <c>[batch, n_heads, q, k]</c> for every sequence.</summary>
        public void AddLayer(int layer, Tensor pattern)
        {
            var n = _tokens.Length == 0 ? 0 : _tokens[0].Length;
            if (pattern.Rank != 4 || pattern.Dim(0) != _tokens.Length || pattern.Dim(1) != _heads
                || pattern.Dim(2) != n || pattern.Dim(3) != n)
            {
                throw new ArgumentException(
                    $"Layer {layer}'s pattern has shape {Tensor.FormatShape(pattern.Shape)}; {_tokens.Length} sequences of {n} " +
                    $"tokens and {_heads} heads need [{_tokens.Length}, {_heads}, {n}, {n}].", nameof(pattern));
            }

            for (var b = 0; b < _tokens.Length; b++)
            {
                AddSequence(layer, b, pattern[b]);
            }
        }

        /// <summary>Layer <paramref name="layer"/>'s pattern <c>[n_heads, q, k]</c> for sequence <paramref name="sequence"/>.</summary>
        public void AddSequence(int layer, int sequence, Tensor pattern)
        {
            var n = _tokens[sequence].Length;
            if (pattern.Rank != 3 || pattern.Dim(0) != _heads || pattern.Dim(1) != n || pattern.Dim(2) != n)
            {
                throw new ArgumentException(
                    $"Layer {layer}'s pattern for sequence {sequence} has shape {Tensor.FormatShape(pattern.Shape)}; " +
                    $"{_heads} heads on {n} tokens need [{_heads}, {n}, {n}].", nameof(pattern));
            }

            for (var h = 0; h < _heads; h++)
            {
                var a = pattern.Span.Slice(h * n * n, n * n);
                double all = 0;
                foreach (var x in a)
                {
                    all += x;
                }

                for (var d = 0; d < Kinds.Length; d++)
                {
                    var t = _targets[d][sequence];
                    _ours[d, layer, h, sequence] = t.Score(a);
                    _mul[d, layer, h, sequence] = all == 0 ? double.NaN : t.Hit(a) / all;
                }
            }
        }

        public DetectorScores Build() => new(MeanOverSequences(_ours), MeanOverSequences(_mul));

        private static double[,,] MeanOverSequences(double[,,,] perSequence)
        {
            int kinds = perSequence.GetLength(0), layers = perSequence.GetLength(1), heads = perSequence.GetLength(2);
            var result = new double[kinds, layers, heads];
            for (var d = 0; d < kinds; d++)
            {
                for (var l = 0; l < layers; l++)
                {
                    for (var h = 0; h < heads; h++)
                    {
                        double sum = 0;
                        var count = 0;
                        for (var b = 0; b < perSequence.GetLength(3); b++)
                        {
                            var s = perSequence[d, l, h, b];
                            if (!double.IsNaN(s))
                            {
                                sum += s;
                                count++;
                            }
                        }

                        result[d, l, h] = count == 0 ? double.NaN : sum / count;
                    }
                }
            }

            return result;
        }
    }

    /// <summary>The targets of a detection pattern as flat indices in row-major order, with where each row's start.</summary>
    private sealed class Targets
    {
        private readonly int[] _index;
        private readonly int[] _rowStart;

        private Targets(int[] index, int[] rowStart)
        {
            _index = index;
            _rowStart = rowStart;
        }

        public static Targets Of(bool[,] detection)
        {
            var n = detection.GetLength(0);
            var index = new List<int>();
            var rowStart = new int[n + 1];
            for (var i = 0; i < n; i++)
            {
                rowStart[i] = index.Count;
                for (var j = 0; j < n; j++)
                {
                    if (detection[i, j])
                    {
                        index.Add((i * n) + j);
                    }
                }
            }

            rowStart[n] = index.Count;
            return new Targets([.. index], rowStart);
        }

        /// <summary><see cref="HeadDetector.Score"/>: the mean over rows with a target of their target mass.</summary>
        public double Score(ReadOnlySpan<float> pattern)
        {
            double total = 0;
            var rows = 0;
            for (var i = 0; i + 1 < _rowStart.Length; i++)
            {
                if (_rowStart[i] == _rowStart[i + 1])
                {
                    continue;
                }

                double mass = 0;
                for (var t = _rowStart[i]; t < _rowStart[i + 1]; t++)
                {
                    mass += pattern[_index[t]];
                }

                total += mass;
                rows++;
            }

            return rows == 0 ? double.NaN : total / rows;
        }

        /// <summary>The numerator of <see cref="HeadDetector.TlMulScore"/>: the pattern summed over the targets.</summary>
        public double Hit(ReadOnlySpan<float> pattern)
        {
            double hit = 0;
            foreach (var i in _index)
            {
                hit += pattern[i];
            }

            return hit;
        }
    }

    private static int CheckSquare(ReadOnlySpan<float> pattern, bool[,] detection)
    {
        var n = detection.GetLength(0);
        if (detection.GetLength(1) != n || pattern.Length != n * n)
        {
            throw new ArgumentException(
                $"A pattern of {pattern.Length} elements does not match a {detection.GetLength(0)} × {detection.GetLength(1)} detection pattern.",
                nameof(pattern));
        }

        return n;
    }
}

/// <summary>Every head's detector scores on one batch: ours (MATH.md) and TransformerLens's "mul" measure.</summary>
public sealed class DetectorScores
{
    private readonly double[,,] _scores;
    private readonly double[,,] _tlMul;

    internal DetectorScores(double[,,] scores, double[,,] tlMul)
    {
        _scores = scores;
        _tlMul = tlMul;
    }

    /// <summary>MATH.md's score (0…1; a perfect head scores 1); NaN if no sequence has a target.</summary>
    public double Score(DetectorKind kind, HeadId head) => _scores[(int)kind, head.Layer, head.Head];

    /// <summary>TransformerLens's "mul" score, capped below 1 by rows without a target; for comparison only.</summary>
    public double TlMul(DetectorKind kind, HeadId head) => _tlMul[(int)kind, head.Layer, head.Head];
}
