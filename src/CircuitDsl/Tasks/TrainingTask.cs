using CircuitDsl.Tensors;

namespace CircuitDsl.Tasks;

/// <summary>
/// A seeded generator of training sequences. Each task is built so that a particular circuit is the way to
/// lower its loss; the subclass's documentation says which.
/// </summary>
public abstract class TrainingTask
{
    /// <summary>The task names the command line accepts (<see cref="TaskNames.All"/>, which the generator checks specs against).</summary>
    public static IReadOnlyList<string> Names { get; } = TaskNames.All;

    /// <summary>A task over a vocabulary of <paramref name="vocab"/> tokens.</summary>
    protected TrainingTask(int vocab)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 2);
        Vocab = vocab;
    }

    /// <summary>The command-line name of the task, e.g. <c>repeated-tokens</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The number of distinct tokens (the model's <c>d_vocab</c>).</summary>
    public int Vocab { get; }

    /// <summary>One sequence of <paramref name="length"/> tokens, drawn with <paramref name="rng"/>.</summary>
    public abstract int[] Sample(Random rng, int length);

    /// <summary>
    /// <paramref name="count"/> sequences of <paramref name="length"/> tokens drawn with <c>new Random(<paramref name="seed"/>)</c>:
    /// held-out data of the task (its structure is still the one its own seed drew) to measure a model on.
    /// </summary>
    public int[][] Batch(int count, int length, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Sample(rng, length))];
    }

    /// <summary>
    /// The task called <paramref name="name"/> with its default parameters; <paramref name="seed"/> fixes any
    /// structure the task draws once (the Markov chain, the trigram table).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static TrainingTask Create(string name, int vocab, int seed) => name switch
    {
        BigramTask.TaskName => new BigramTask(vocab, seed),
        SkipTrigramTask.TaskName => new SkipTrigramTask(vocab, seed),
        RepeatedTokensTask.TaskName => new RepeatedTokensTask(vocab),
        MarkovRepeatsTask.TaskName => new MarkovRepeatsTask(vocab, seed),
        ReversalTask.TaskName => new ReversalTask(vocab),
        _ => throw new ArgumentException($"Unknown task '{name}' (expected {string.Join(", ", Names)}).", nameof(name)),
    };
}

/// <summary>
/// Sequences from a random Markov chain over the vocabulary with peaked rows. The next token depends only on
/// the current one, so the best model is the bigram table: a zero-layer model learns
/// <c>log_softmax(W_E W_U + b_U)[a, b] ≈ log P(b | a)</c> (the direct path of every deeper model does the same).
/// </summary>
public sealed class BigramTask : TrainingTask
{
    /// <summary>The command-line name.</summary>
    public const string TaskName = TaskNames.Bigram;

    private readonly double[][] _cumulative;

    /// <summary>
    /// A chain whose row <c>a</c> is <c>softmax(sharpness · g)</c> for standard-normal <c>g</c> drawn from
    /// <c>Random(chainSeed)</c>; larger <paramref name="sharpness"/> makes rows more peaked. The first token of
    /// a sequence is uniform.
    /// </summary>
    public BigramTask(int vocab, int chainSeed, double sharpness = 2.0)
        : base(vocab)
    {
        var rng = new Random(chainSeed);
        var transitions = new double[vocab][];
        Transitions = transitions;
        _cumulative = new double[vocab][];
        for (var a = 0; a < vocab; a++)
        {
            var logits = new double[vocab];
            for (var b = 0; b < vocab; b++)
            {
                logits[b] = sharpness * Gaussian.Next(rng);
            }

            var max = logits.Max();
            var exps = logits.Select(l => Math.Exp(l - max)).ToArray();
            var sum = exps.Sum();
            transitions[a] = exps.Select(e => e / sum).ToArray();
            _cumulative[a] = new double[vocab];
            var running = 0.0;
            for (var b = 0; b < vocab; b++)
            {
                running += transitions[a][b];
                _cumulative[a][b] = running;
            }
        }
    }

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>The true transition matrix: <c>Transitions[a][b] = P(next = b | current = a)</c>; rows sum to 1.</summary>
    public IReadOnlyList<double[]> Transitions { get; }

    /// <inheritdoc />
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var seq = new int[length];
        seq[0] = rng.Next(Vocab);
        Continue(rng, seq, 1);
        return seq;
    }

    /// <summary>Fills <paramref name="seq"/> from position <paramref name="from"/> on by walking the chain.</summary>
    internal void Continue(Random rng, int[] seq, int from)
    {
        for (var p = Math.Max(from, 1); p < seq.Length; p++)
        {
            var row = _cumulative[seq[p - 1]];
            var u = rng.NextDouble() * row[^1];
            var next = Array.BinarySearch(row, u);
            seq[p] = Math.Min(next < 0 ? ~next : next, Vocab - 1);
        }
    }
}

/// <summary>
/// Skip-trigrams "A … B → C". The vocabulary is split into anchors (the first quarter), triggers (the next
/// eighth) and fillers (the rest). A sequence holds one anchor <c>A</c> early on, then fillers; every trigger
/// <c>B</c> after the anchor is followed by <c>C = table[A, B]</c>. For the first half of the triggers
/// <c>C = A</c> (copying: "A … B → A"); for the others <c>C</c> is a filler fixed by the task's seed.
/// Predicting <c>C</c> needs the anchor, which is not adjacent: a one-layer model learns an attention head
/// whose QK circuit sends trigger queries to anchor keys and whose OV circuit maps the anchor to <c>C</c> — a
/// skip-trigram head — and, for the copying triggers, an OV circuit with positive eigenvalues on the anchors
/// (a copying head).
/// </summary>
public sealed class SkipTrigramTask : TrainingTask
{
    /// <summary>The command-line name.</summary>
    public const string TaskName = TaskNames.SkipTrigram;

    private readonly int[,] _table;

    /// <summary>A task whose non-copying outputs are drawn from <c>Random(tableSeed)</c>.</summary>
    /// <param name="vocab">At least 16 tokens.</param>
    /// <param name="tableSeed">Seeds the table of outputs.</param>
    /// <param name="triggerProbability">The chance that a position after the anchor holds a trigger.</param>
    public SkipTrigramTask(int vocab, int tableSeed, double triggerProbability = 0.15)
        : base(vocab)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 16);
        Anchors = vocab / 4;
        Triggers = vocab / 8;
        TriggerProbability = triggerProbability;
        var rng = new Random(tableSeed);
        _table = new int[Anchors, Triggers];
        for (var a = 0; a < Anchors; a++)
        {
            for (var b = 0; b < Triggers; b++)
            {
                _table[a, b] = b < Triggers / 2 ? a : Anchors + Triggers + rng.Next(vocab - Anchors - Triggers);
            }
        }
    }

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>Anchors are tokens <c>0 … Anchors−1</c>.</summary>
    public int Anchors { get; }

    /// <summary>Triggers are tokens <c>Anchors … Anchors+Triggers−1</c>; the first half copy the anchor.</summary>
    public int Triggers { get; }

    /// <summary>The chance that a position after the anchor starts a "B → C" pair.</summary>
    public double TriggerProbability { get; }

    /// <summary>The token that follows trigger token <paramref name="trigger"/> when the anchor is <paramref name="anchor"/>.</summary>
    public int Output(int anchor, int trigger) => _table[anchor, trigger - Anchors];

    /// <inheritdoc />
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var fillers = Vocab - Anchors - Triggers;
        var seq = new int[length];
        for (var p = 0; p < length; p++)
        {
            seq[p] = Anchors + Triggers + rng.Next(fillers);
        }

        var anchor = rng.Next(Anchors);
        var at = rng.Next(Math.Max(1, length / 4));
        seq[at] = anchor;
        for (var p = at + 2; p + 1 < length; p++)
        {
            if (rng.NextDouble() < TriggerProbability)
            {
                var trigger = Anchors + rng.Next(Triggers);
                seq[p] = trigger;
                seq[p + 1] = Output(anchor, trigger);
                p++;
            }
        }

        return seq;
    }
}

/// <summary>
/// Uniform random tokens with repeats — the task on which a two-layer attention-only model forms an induction
/// circuit: a previous-token head in layer 0 writes "the token before me was X" into each position, and an
/// induction head in layer 1 K-composes with it to attend from the current token to the position after its
/// earlier occurrence and copy that token. Each row is, with probability <see cref="PeriodicFraction"/>,
/// periodic (a random pattern of period <see cref="MinPeriod"/>…<see cref="MaxPeriod"/> tiled over the row),
/// and otherwise random with one random chunk of <c>length/8 … length/2</c> tokens repeated later. The
/// periodic rows matter: on chunk-repeat rows alone a 2-layer, 4-head, d_model-64 model stayed on the loss
/// plateau past 5,000 steps in PyTorch.
/// </summary>
public sealed class RepeatedTokensTask : TrainingTask
{
    /// <summary>The command-line name.</summary>
    public const string TaskName = TaskNames.RepeatedTokens;

    /// <summary>A mix of periodic and chunk-repeat rows.</summary>
    public RepeatedTokensTask(int vocab, double periodicFraction = 0.5, int minPeriod = 6, int maxPeriod = 32)
        : base(vocab)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minPeriod, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPeriod, minPeriod);
        PeriodicFraction = periodicFraction;
        MinPeriod = minPeriod;
        MaxPeriod = maxPeriod;
    }

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>The fraction of rows that are periodic.</summary>
    public double PeriodicFraction { get; }

    /// <summary>The shortest period.</summary>
    public int MinPeriod { get; }

    /// <summary>The longest period (capped at half the row).</summary>
    public int MaxPeriod { get; }

    /// <inheritdoc />
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var seq = new int[length];
        for (var p = 0; p < length; p++)
        {
            seq[p] = rng.Next(Vocab);
        }

        if (rng.NextDouble() < PeriodicFraction)
        {
            var maxPeriod = Math.Max(1, Math.Min(MaxPeriod, length / 2));
            var period = rng.Next(Math.Min(MinPeriod, maxPeriod), maxPeriod + 1);
            for (var p = period; p < length; p++)
            {
                seq[p] = seq[p - period];
            }
        }
        else
        {
            var chunk = rng.Next(Math.Max(1, length / 8), Math.Max(2, (length / 2) + 1));
            var source = rng.Next(0, length - (2 * chunk) + 1);
            var target = rng.Next(source + chunk, length - chunk + 1);
            Array.Copy(seq, source, seq, target, chunk);
        }

        return seq;
    }
}

/// <summary>
/// A user's own token sequences (<c>train --data</c>): joined end to end into one stream, from which each training
/// sequence is a window of <c>n_ctx</c> tokens at a uniformly drawn start. Nothing is planted; the model learns what
/// the data holds.
/// </summary>
public sealed class TokenStreamTask : TrainingTask
{
    /// <summary>The name reports and saved recipes use.</summary>
    public const string TaskName = "data";

    private readonly int[] _stream;

    /// <summary>The sequences <paramref name="sequences"/>, every id below <paramref name="vocab"/>, joined in order.</summary>
    /// <exception cref="ArgumentException">A token is outside the vocabulary.</exception>
    public TokenStreamTask(int vocab, IEnumerable<int[]> sequences)
        : base(vocab)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        _stream = [.. sequences.SelectMany(s => s)];
        var bad = Array.FindIndex(_stream, t => t < 0 || t >= vocab);
        if (bad >= 0)
        {
            throw new ArgumentException($"Token {_stream[bad]} at offset {bad} of the data is outside the vocabulary of {vocab}.", nameof(sequences));
        }
    }

    /// <inheritdoc/>
    public override string Name => TaskName;

    /// <summary>The number of tokens in the stream.</summary>
    public int Length => _stream.Length;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is longer than the stream.</exception>
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _stream.Length);
        var start = rng.Next(_stream.Length - length + 1);
        return _stream[start..(start + length)];
    }
}

/// <summary>
/// Text from <see cref="BigramTask"/>'s Markov chain (the same chain for the same seed) in which one segment of
/// <c>length/8 … length/4</c> tokens appears twice: the chain goes on from the end of the second copy. Outside the
/// second copy the bigram table is the best predictor; inside it, after its first token, the earlier copy is: a
/// bigram table and an induction circuit each do half the job, which is why the composite of a zero-layer bigram
/// model and a two-layer induction model is checked on it (docs/mix-and-match.md).
/// </summary>
public sealed class MarkovRepeatsTask : TrainingTask
{
    /// <summary>The command-line name.</summary>
    public const string TaskName = TaskNames.MarkovRepeats;

    /// <summary>A task over the chain <c>new BigramTask(vocab, chainSeed)</c> draws.</summary>
    public MarkovRepeatsTask(int vocab, int chainSeed)
        : base(vocab) => Chain = new BigramTask(vocab, chainSeed);

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>The chain the text walks.</summary>
    public BigramTask Chain { get; }

    /// <inheritdoc />
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var seq = Chain.Sample(rng, length);
        var chunk = rng.Next(Math.Max(1, length / 8), Math.Max(2, (length / 4) + 1));
        if (2 * chunk > length)
        {
            return seq;
        }

        var source = rng.Next(0, length - (2 * chunk) + 1);
        var target = rng.Next(source + chunk, length - chunk + 1);
        Array.Copy(seq, source, seq, target, chunk);
        Chain.Continue(rng, seq, target + chunk);
        return seq;
    }
}

/// <summary>
/// A string of <c>length/2</c> uniform random tokens followed by the same string reversed (for an odd length, one more
/// random token first). Predicting the second half needs a head whose pattern is positional and new — from position
/// <c>h + i</c> to <c>h − 2 − i</c>, the token after the mirrored one — and whose OV circuit copies: the founding
/// example's target task, which no composite of the bundled models does (docs/mix-and-match.md).
/// </summary>
public sealed class ReversalTask : TrainingTask
{
    /// <summary>The command-line name.</summary>
    public const string TaskName = TaskNames.Reversal;

    /// <summary>A reversal task over <paramref name="vocab"/> tokens.</summary>
    public ReversalTask(int vocab)
        : base(vocab)
    {
    }

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <inheritdoc />
    public override int[] Sample(Random rng, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var seq = new int[length];
        var half = length / 2;
        var start = length - (2 * half);
        for (var p = 0; p < start + half; p++)
        {
            seq[p] = rng.Next(Vocab);
        }

        for (var i = 0; i < half; i++)
        {
            seq[start + half + i] = seq[start + half - 1 - i];
        }

        return seq;
    }
}
