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
/// Head detection (docs/math.md, "Head detection"): a 0/1 detection pattern <c>P</c> per sequence, and the score of an attention
/// pattern <c>A [q, k]</c> against it — the mean, over query rows with at least one target, of the attention
/// mass on the targets; then the mean over sequences. TransformerLens's <c>head_detector</c> "mul" measure,
/// <c>Σ(A ⊙ P) / Σ A</c> over all rows, is computed beside it (<see cref="TlMulScore"/>) for comparison only.
/// Patterns are read, never modified.
/// </summary>
public static class HeadDetector
{
    /// <summary>The seed of <see cref="DefaultBatch(ModelConfig)"/>.</summary>
    public const int DefaultBatchSeed = 20211222;

    /// <summary>How many sequences <see cref="DefaultBatch(ModelConfig)"/> has.</summary>
    public const int DefaultBatchSize = 8;

    /// <summary>
    /// The longest repeated stretch <c>h</c> of <see cref="DefaultBatch(ModelConfig)"/>: sequences of at most 256 tokens, so that the
    /// default batch of a model with a long context (GPT-2's 1,024) costs a forward pass over 2,048 tokens, not 8,184
    /// (whose attention alone is 16 times larger). Models with <c>n_ctx ≤ 257</c> are unaffected.
    /// </summary>
    public const int DefaultMaxRepeat = 128;

    /// <summary>
    /// The default detection batch: <see cref="DefaultBatchSize"/> sequences <c>h + h</c>, each <c>h</c> being
    /// <c>min((n_ctx − 1) / 2, d_vocab, </c><see cref="DefaultMaxRepeat"/><c>)</c> distinct tokens drawn without
    /// replacement by <c>new Random(DefaultBatchSeed)</c> (a partial Fisher–Yates shuffle of <c>0…d_vocab−1</c> per
    /// sequence), with no BOS token. Every second-half position has a duplicate and an induction target.
    /// </summary>
    public static int[][] DefaultBatch(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var half = Math.Min(Math.Min((config.NCtx - 1) / 2, config.DVocab), DefaultMaxRepeat);
        if (half < 1)
        {
            throw new ArgumentException(
                $"n_ctx {config.NCtx} is too short for a repeated-token detection batch (it needs at least 3).", nameof(config));
        }

        return DefaultBatch(config, DefaultBatchSize, 2 * half);
    }

    /// <summary>
    /// A detection batch drawn as <see cref="DefaultBatch(ModelConfig)"/> draws its own, of <paramref name="sequences"/>
    /// sequences of <paramref name="length"/> tokens each: <c>h = ⌈length/2⌉</c> distinct tokens drawn without
    /// replacement by <c>new Random(DefaultBatchSeed)</c>, then the first <c>length − h</c> of them again. For an even
    /// length that is <c>h + h</c>, and the default batch is this with its own count and length.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="sequences"/> is below 1, or <paramref name="length"/> is below 2, above <c>n_ctx − 1</c> (as long as the default batch can be), or needs more distinct tokens than <c>d_vocab</c>.
    /// </exception>
    public static int[][] DefaultBatch(ModelConfig config, int sequences, int length)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, config.NCtx - 1);
        var half = (length + 1) / 2;
        if (half > config.DVocab)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"A detection sequence of {length} tokens needs {half} distinct tokens; the vocabulary has {config.DVocab}.");
        }

        var rng = new Random(DefaultBatchSeed);
        var batch = new int[sequences][];
        var pool = new int[config.DVocab];
        for (var s = 0; s < batch.Length; s++)
        {
            for (var i = 0; i < pool.Length; i++)
            {
                pool[i] = i;
            }

            var seq = new int[length];
            for (var i = 0; i < half; i++)
            {
                var j = rng.Next(i, pool.Length);
                (pool[i], pool[j]) = (pool[j], pool[i]);
                seq[i] = pool[i];
                if (half + i < length)
                {
                    seq[half + i] = pool[i];
                }
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
        var columns = new List<int>();
        for (var i = 0; i < n; i++)
        {
            columns.Clear();
            AddTargets(kind, tokens, i, columns);
            foreach (var j in columns)
            {
                p[i, j] = true;
            }
        }

        return p;
    }

    /// <summary>Appends the columns of row <paramref name="i"/>'s targets, in increasing order: the one definition of each detector.</summary>
    private static void AddTargets(DetectorKind kind, ReadOnlySpan<int> tokens, int i, List<int> columns)
    {
        switch (kind)
        {
            case DetectorKind.PreviousToken:
                if (i > 0)
                {
                    columns.Add(i - 1);
                }

                break;
            case DetectorKind.DuplicateToken:
            case DetectorKind.Induction:
                for (var j = 0; j < i; j++)
                {
                    if (tokens[j] == tokens[i])
                    {
                        columns.Add(kind == DetectorKind.DuplicateToken ? j : j + 1);
                    }
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown detector.");
        }
    }

    /// <summary>
    /// Our score of one pattern <paramref name="pattern"/> <c>[q, k]</c>: the mean over rows with a target of
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
    /// Scores layer by layer (<see cref="AddLayer"/>, each <c>hook_pattern</c> as the forward pass makes it) or a block
    /// of query rows at a time (<see cref="AddRows"/>), so no pattern has to be held longer than it takes to read it.
    /// </summary>
    /// <remarks>
    /// Each detection pattern is kept as its targets row by row, and a score visits only those (and, for the "mul"
    /// measure's denominator, every entry once per head and sequence): the same sums in the same order as
    /// <see cref="Score"/> and <see cref="TlMulScore"/>, so the same numbers, without their <c>n²</c> walks per
    /// detector. Row blocks of one (layer, head, sequence) must come in order; different ones may come from
    /// different threads at once, since each has its own sums.
    /// </remarks>
    internal sealed class Builder
    {
        private static readonly DetectorKind[] Kinds = Enum.GetValues<DetectorKind>();
        private readonly int[][] _tokens;
        private readonly int _heads;
        private readonly Targets[][] _targets;

        // Per (kind, layer, head, sequence): Score's sum of row masses and its count of rows with a target, and
        // TlMulScore's sum over the targets; per (layer, head, sequence): TlMulScore's sum over every entry.
        private readonly double[,,,] _mass;
        private readonly int[,,,] _rowsWithTarget;
        private readonly double[,,,] _hit;
        private readonly double[,,] _all;

        public Builder(int layers, int heads, int[][] tokens)
        {
            ArgumentNullException.ThrowIfNull(tokens);
            _tokens = tokens;
            _heads = heads;
            _targets = Kinds.Select(k => tokens.Select(t => Targets.Of(k, t)).ToArray()).ToArray();
            _mass = new double[Kinds.Length, layers, heads, tokens.Length];
            _rowsWithTarget = new int[Kinds.Length, layers, heads, tokens.Length];
            _hit = new double[Kinds.Length, layers, heads, tokens.Length];
            _all = new double[layers, heads, tokens.Length];
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
                for (var h = 0; h < _heads; h++)
                {
                    AddRows(layer, b, h, 0, n, pattern.Span.Slice(((b * _heads) + h) * n * n, n * n), n);
                }
            }
        }

        /// <summary>
        /// Query rows <c>[firstRow, firstRow + rowCount)</c> of <paramref name="head"/>'s pattern on
        /// <paramref name="sequence"/>, as <see cref="Model.PatternRows"/> gives them: row <c>firstRow + i</c> at
        /// <c>rows[i · stride]</c>, its keys after <c>firstRow + rowCount − 1</c> zero and not given.
        /// </summary>
        public void AddRows(int layer, int sequence, int head, int firstRow, int rowCount, ReadOnlySpan<float> rows, int stride)
        {
            var keys = firstRow + rowCount;
            double all = _all[layer, head, sequence];
            for (var i = 0; i < rowCount; i++)
            {
                foreach (var x in rows.Slice(i * stride, keys))
                {
                    all += x;
                }
            }

            _all[layer, head, sequence] = all;
            for (var d = 0; d < Kinds.Length; d++)
            {
                _targets[d][sequence].Add(firstRow, rowCount, rows, stride,
                    ref _mass[d, layer, head, sequence], ref _rowsWithTarget[d, layer, head, sequence], ref _hit[d, layer, head, sequence]);
            }
        }

        public DetectorScores Build()
        {
            int kinds = Kinds.Length, layers = _all.GetLength(0), sequences = _tokens.Length;
            var ours = new double[kinds, layers, _heads, sequences];
            var mul = new double[kinds, layers, _heads, sequences];
            for (var d = 0; d < kinds; d++)
            {
                for (var l = 0; l < layers; l++)
                {
                    for (var h = 0; h < _heads; h++)
                    {
                        for (var b = 0; b < sequences; b++)
                        {
                            var rows = _rowsWithTarget[d, l, h, b];
                            ours[d, l, h, b] = rows == 0 ? double.NaN : _mass[d, l, h, b] / rows;
                            mul[d, l, h, b] = _all[l, h, b] == 0 ? double.NaN : _hit[d, l, h, b] / _all[l, h, b];
                        }
                    }
                }
            }

            return new(MeanOverSequences(ours), MeanOverSequences(mul));
        }

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

    /// <summary>The targets of a detection pattern, row by row: the columns of row <c>i</c> are <c>_column[_rowStart[i] ..
    /// _rowStart[i + 1]]</c>, in order.</summary>
    private sealed class Targets
    {
        private readonly int[] _column;
        private readonly int[] _rowStart;

        private Targets(int[] column, int[] rowStart)
        {
            _column = column;
            _rowStart = rowStart;
        }

        /// <summary>The targets of <paramref name="kind"/> on <paramref name="tokens"/>, without the dense <c>n × n</c> pattern.</summary>
        public static Targets Of(DetectorKind kind, int[] tokens)
        {
            var column = new List<int>();
            var rowStart = new int[tokens.Length + 1];
            for (var i = 0; i < tokens.Length; i++)
            {
                rowStart[i] = column.Count;
                AddTargets(kind, tokens, i, column);
            }

            rowStart[tokens.Length] = column.Count;
            return new Targets([.. column], rowStart);
        }

        /// <summary>
        /// Adds rows <c>[firstRow, firstRow + rowCount)</c> to <see cref="HeadDetector.Score"/>'s sum of row masses
        /// (and its count of rows with a target) and to the target sum of <see cref="HeadDetector.TlMulScore"/>.
        /// </summary>
        public void Add(int firstRow, int rowCount, ReadOnlySpan<float> rows, int stride, ref double mass, ref int rowsWithTarget, ref double hit)
        {
            for (var i = firstRow; i < firstRow + rowCount; i++)
            {
                if (_rowStart[i] == _rowStart[i + 1])
                {
                    continue;
                }

                var row = rows.Slice((i - firstRow) * stride);
                double rowMass = 0;
                for (var t = _rowStart[i]; t < _rowStart[i + 1]; t++)
                {
                    rowMass += row[_column[t]];
                    hit += row[_column[t]];
                }

                mass += rowMass;
                rowsWithTarget++;
            }
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

/// <summary>Every head's detector scores on one batch: ours (docs/math.md, "Head detection") and TransformerLens's "mul" measure.</summary>
public sealed class DetectorScores
{
    private readonly double[,,] _scores;
    private readonly double[,,] _tlMul;

    internal DetectorScores(double[,,] scores, double[,,] tlMul)
    {
        _scores = scores;
        _tlMul = tlMul;
    }

    /// <summary>Our score (0…1; a perfect head scores 1); NaN if no sequence has a target.</summary>
    public double Score(DetectorKind kind, HeadId head) => _scores[(int)kind, head.Layer, head.Head];

    /// <summary>TransformerLens's "mul" score, capped below 1 by rows without a target; for comparison only.</summary>
    public double TlMul(DetectorKind kind, HeadId head) => _tlMul[(int)kind, head.Layer, head.Head];
}
