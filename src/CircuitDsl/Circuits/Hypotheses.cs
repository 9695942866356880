using System.Globalization;
using CircuitDsl.Reports;
using CircuitDsl.Tasks;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// The checks a circuit spec's hypotheses compile to. Each takes the shared <see cref="ModelAnalysis"/>, the
/// hypothesis's name and prose claim, and its parameters, and returns <see cref="Evidence"/>: the measured value,
/// the verdict against the threshold, and the data behind it. A head outside the model or non-finite weights give
/// <see cref="Verdict.NotMeasured"/> with the reason, never a meaningless score.
/// </summary>
public static class Hypotheses
{
    /// <summary>The task names <see cref="Ablation(ModelAnalysis, string, string, HeadId, string, double, Bound)"/> and <see cref="Faithfulness(ModelAnalysis, string, string, HeadId[], string, double, Bound)"/> accept.</summary>
    public const string RepeatedTokensTask = TaskNames.RepeatedTokens;

    /// <summary>The head's previous-token score on the detection batch is on the <paramref name="bound"/> side of <paramref name="threshold"/>.</summary>
    public static Evidence PreviousTokenHead(ModelAnalysis analysis, string name, string claim, HeadId head, double threshold, Bound bound) =>
        Detector(analysis, name, claim, head, threshold, bound, DetectorKind.PreviousToken, "previous-token score", "tl_mul_previous_token");

    /// <summary>The head's duplicate-token score on the detection batch is on the <paramref name="bound"/> side of <paramref name="threshold"/>.</summary>
    public static Evidence DuplicateTokenHead(ModelAnalysis analysis, string name, string claim, HeadId head, double threshold, Bound bound) =>
        Detector(analysis, name, claim, head, threshold, bound, DetectorKind.DuplicateToken, "duplicate-token score", "tl_mul_duplicate_token");

    /// <summary>The head's induction score on the detection batch is on the <paramref name="bound"/> side of <paramref name="threshold"/>.</summary>
    public static Evidence InductionHead(ModelAnalysis analysis, string name, string claim, HeadId head, double threshold, Bound bound) =>
        Detector(analysis, name, claim, head, threshold, bound, DetectorKind.Induction, "induction score", "tl_mul_induction");

    /// <summary>The head's copying score (full-OV eigenvalues) is on the <paramref name="bound"/> side of <paramref name="threshold"/>.</summary>
    public static Evidence CopyingHead(ModelAnalysis analysis, string name, string claim, HeadId head, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        (head, var named) = Resolve(analysis, head);
        var unit = $"copying score of {named}";
        if (analysis.WhyNotMeasurable(head) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        return Evidence.Judge(name, claim, analysis.Copying.Score(head), threshold, bound, unit,
            "Re(Σλ)/Σ|λ| over the eigenvalues of W_E·W_OV·W_U.", [new EigenvaluesData(head, analysis.Copying.Eigenvalues(head))]);
    }

    /// <summary>
    /// The <paramref name="via"/>-composition score of <paramref name="from"/> into <paramref name="to"/> is on the
    /// <paramref name="bound"/> side of <paramref name="threshold"/>, in raw units or (with
    /// <paramref name="inBaselineUnits"/>) in multiples of the random baseline <c>1/sqrt(d_model)</c>.
    /// </summary>
    public static Evidence Composition(ModelAnalysis analysis, string name, string claim, CompositionKind via, HeadId from, HeadId to,
        double threshold, Bound bound, bool inBaselineUnits)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        (from, var fromNamed) = Resolve(analysis, from);
        (to, var toNamed) = Resolve(analysis, to);
        var unit = $"{via}-composition {fromNamed} -> {toNamed}" + (inBaselineUnits ? " (x random baseline)" : "");
        if (analysis.WhyNotMeasurable(from, to) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        if (from.Layer >= to.Layer)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                $"head {from} is not in an earlier layer than {to}, so {to} cannot read what it wrote.");
        }

        var table = analysis.Composition;
        var raw = table.Score(via, from, to);
        var scores = new CompositionData(from, to, table.Score(CompositionKind.Q, from, to), table.Score(CompositionKind.K, from, to),
            table.Score(CompositionKind.V, from, to), table.RandomBaseline);
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"raw score {Evidence.Format(raw)}; random baseline 1/sqrt(d_model) = {Evidence.Format(table.RandomBaseline)}.");
        return Evidence.Judge(name, claim, inBaselineUnits ? raw / table.RandomBaseline : raw, threshold, bound, unit, detail, [scores]);
    }

    /// <summary>
    /// Mean-ablating <paramref name="head"/> raises the loss on <paramref name="tokens"/> by an amount, in nats, on the
    /// <paramref name="bound"/> side of <paramref name="threshold"/>; the head's mean output is taken on
    /// <paramref name="meanTokens"/> (on <paramref name="tokens"/> when null). The evidence's standard error is that of
    /// the mean increase over the sequences.
    /// </summary>
    public static Evidence Ablation(ModelAnalysis analysis, string name, string claim, HeadId head, int[][] tokens, double threshold, Bound bound,
        int[][]? meanTokens = null)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(tokens);
        (head, var named) = Resolve(analysis, head);
        var unit = $"loss increase (nats) when {named} is mean-ablated";
        if (analysis.WhyNotMeasurable(head) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var full = Circuits.Ablation.PerTokenLoss(analysis.Model, tokens);
        var mean = Circuits.Ablation.MeanZ(analysis.Model, meanTokens ?? tokens);
        var ablated = Circuits.Ablation.PerTokenLoss(analysis.Model, tokens,
            Circuits.Ablation.Hooks(analysis.Config, [head], AblationKind.Mean, mean));
        var increase = new Tensor(full.Shape.ToArray());
        for (var i = 0; i < full.Length; i++)
        {
            increase.Span[i] = ablated.Span[i] - full.Span[i];
        }

        var perSequence = Circuits.Ablation.SequenceLosses(increase);
        var value = perSequence.Average();
        var standardError = StandardErrorOfMean(perSequence);
        return Evidence.Judge(name, claim, value, threshold, bound, unit,
            Sampled(tokens.Length, meanTokens is not null, standardError) + "; mean over every predicted token.", [new LossChangeData(head, increase)])
            with { StandardError = standardError };
    }

    /// <summary>
    /// <see cref="Ablation(ModelAnalysis, string, string, HeadId, int[][], double, Bound, int[][])"/> on held-out samples
    /// of a named task (<see cref="HeldOut.Batches"/>): the mean taken on one stream, the loss measured on another.
    /// </summary>
    public static Evidence Ablation(ModelAnalysis analysis, string name, string claim, HeadId head, string task, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return TaskTokens(analysis, task, out var batches) is { } why
            ? Evidence.NotMeasured(name, claim, threshold, bound, $"loss increase (nats) when {head} is mean-ablated", why)
            : Ablation(analysis, name, claim, head, batches.Evaluation, threshold, bound, batches.Mean);
    }

    /// <summary>
    /// The circuit made of <paramref name="heads"/>, with every other head mean-ablated, recovers a fraction of the loss,
    /// <c>(L_ablate_all − L_circuit) / (L_ablate_all − L_full)</c>, on the <paramref name="bound"/> side of
    /// <paramref name="threshold"/>: losses on <paramref name="tokens"/>, means on <paramref name="meanTokens"/> (on
    /// <paramref name="tokens"/> when null). The evidence's standard error is the fraction's jackknife one over the sequences.
    /// </summary>
    public static Evidence Faithfulness(ModelAnalysis analysis, string name, string claim, HeadId[] heads, int[][] tokens, double threshold, Bound bound,
        int[][]? meanTokens = null)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(heads);
        ArgumentNullException.ThrowIfNull(tokens);
        heads = [.. heads.Select(analysis.Resolve).Distinct()];
        const string unit = "fraction of loss recovered";
        if (analysis.WhyNotMeasurable(heads) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var r = Circuits.Ablation.FractionOfLossRecovered(analysis.Model, tokens, heads, meanTokens);
        EvidenceData[] losses = [new FaithfulnessData(heads, r.Full, r.Circuit, r.AblateAll)];
        if (double.IsNaN(r.Fraction))
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                "mean-ablating every head does not change the loss, so no fraction of it can be recovered.", losses);
        }

        return Evidence.Judge(name, claim, r.Fraction, threshold, bound, unit,
            Sampled(tokens.Length, meanTokens is not null, r.StandardError) + "; every head outside the circuit mean-ablated.", losses)
            with { StandardError = r.StandardError };
    }

    /// <summary>
    /// <see cref="Faithfulness(ModelAnalysis, string, string, HeadId[], int[][], double, Bound, int[][])"/> on held-out
    /// samples of a named task (<see cref="HeldOut.Batches"/>): the means taken on one stream, the losses measured on another.
    /// </summary>
    public static Evidence Faithfulness(ModelAnalysis analysis, string name, string claim, HeadId[] heads, string task, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return TaskTokens(analysis, task, out var batches) is { } why
            ? Evidence.NotMeasured(name, claim, threshold, bound, "fraction of loss recovered", why)
            : Faithfulness(analysis, name, claim, heads, batches.Evaluation, threshold, bound, batches.Mean);
    }

    /// <summary>
    /// The direct path reproduces the bigram chain of <paramref name="task"/> (drawn with <paramref name="seed"/>, the
    /// model's training seed): the Pearson correlation between <c>log_softmax(W_E W_U + b_U)</c> and the chain's true
    /// <c>log P(next | current)</c>, over all <c>d_vocab²</c> entries, is on the <paramref name="bound"/> side of <paramref name="threshold"/>.
    /// </summary>
    public static Evidence DirectPathBigrams(ModelAnalysis analysis, string name, string claim, string task, int seed, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        const string unit = "correlation of the direct path's log-probabilities with the chain's";
        if (analysis.Unmeasurable is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var unknown = PlantedTask(task, analysis.Config.DVocab, seed, out var planted);
        if (planted is not BigramTask chain)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                unknown ?? $"the task '{task}' plants no bigram chain (expected '{TaskNames.Bigram}').");
        }

        var fit = PlantedStructure.DirectPathBigrams(analysis.Weights, chain);
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"task {task}, seed {seed}; mean KL(chain || direct path) = {Evidence.Format(fit.MeanKl)} nats per current token.");
        return Evidence.Judge(name, claim, fit.Correlation, threshold, bound, unit, detail,
            [new BigramFitData(fit.ModelLogProbs, fit.TrueLogProbs)]);
    }

    /// <summary>
    /// Head <paramref name="head"/> carries the skip-trigrams "anchor … trigger → output" that <paramref name="task"/>
    /// planted (drawn with <paramref name="seed"/>, the model's training seed): the fraction of planted triples the head's
    /// QK and OV circuits rank high (<see cref="PlantedStructure.SkipTrigrams"/>) is on the <paramref name="bound"/> side of
    /// <paramref name="threshold"/>.
    /// </summary>
    public static Evidence SkipTrigrams(ModelAnalysis analysis, string name, string claim, HeadId head, string task, int seed, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        (head, var named) = Resolve(analysis, head);
        var unit = $"fraction of planted skip-trigrams carried by {named}";
        if (analysis.WhyNotMeasurable(head) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var unknown = PlantedTask(task, analysis.Config.DVocab, seed, out var planted);
        if (planted is not SkipTrigramTask triples)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                unknown ?? $"the task '{task}' plants no skip-trigrams (expected '{TaskNames.SkipTrigram}').");
        }

        var recall = PlantedStructure.SkipTrigrams(analysis.Weights, head, triples);

        var carried = recall.Triples.Where(t => t.Carried).ToList();
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"task {task}, seed {seed}; carries {carried.Count} of {recall.Triples.Count} planted triples, {carried.Count(t => t.Output == t.Anchor)} of them copying (A … B → A).");
        return Evidence.Judge(name, claim, recall.Fraction, threshold, bound, unit, detail, [new SkipTrigramData(head, recall.Triples)]);
    }

    /// <summary>
    /// A number the researcher's own code measures (a <c>[Measured]</c> method's body) is on the <paramref name="bound"/>
    /// side of <paramref name="threshold"/>. The code runs here, once: an exception it throws is the reason nothing was
    /// measured, never a crashed report; NaN or ∞ is not measured either, as in <see cref="Evidence.Judge"/>.
    /// </summary>
    /// <param name="name">The hypothesis's name.</param>
    /// <param name="claim">The claim in prose.</param>
    /// <param name="measure">The researcher's measurement.</param>
    /// <param name="threshold">The threshold the claim sets.</param>
    /// <param name="bound">Which side of the threshold supports the claim.</param>
    /// <param name="unit">The value's unit as the spec wrote it (e.g. <c>nats</c>), or null.</param>
    public static Evidence Measured(string name, string claim, Func<double> measure, double threshold, Bound bound, string? unit)
    {
        ArgumentNullException.ThrowIfNull(measure);
        var what = unit is null ? name : $"{name} ({unit})";
        double value;
        try
        {
            value = measure();
        }
#pragma warning disable CA1031 // Any exception from the researcher's code is evidence that nothing was measured.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, what, $"the measurement threw {e.GetType().Name}: {e.Message}");
        }

        return Evidence.Judge(name, claim, value, threshold, bound, what, "measured by the spec's own code.");
    }

    private static string? PlantedTask(string task, int vocab, int seed, out TrainingTask? planted)
    {
        planted = null;
        if (!TrainingTask.Names.Contains(task))
        {
            return $"unknown task '{task}' (known: {string.Join(", ", TrainingTask.Names)}).";
        }

        try
        {
            planted = TrainingTask.Create(task, vocab, seed);
            return null;
        }
        catch (ArgumentOutOfRangeException e)
        {
            return $"the task '{task}' cannot be drawn for d_vocab = {vocab}: {e.Message}";
        }
    }

    private static Evidence Detector(ModelAnalysis analysis, string name, string claim, HeadId head, double threshold, Bound bound,
        DetectorKind kind, string what, string tlName)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        (head, var named) = Resolve(analysis, head);
        var unit = $"{what} of {named}";
        if (analysis.WhyNotMeasurable(head) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var scores = analysis.Detectors;
        var detail = $"the {what} is this project's stripe score (mean attention on the targets over the rows that have one; a perfect head scores 1)"
            + (kind == DetectorKind.Induction ? ", about twice TransformerLens's on the h + h detection batch, whose first half has no target" : "")
            + $"; {tlName} = {Evidence.Format(scores.TlMul(kind, head))} is TransformerLens's \"mul\" measure (Σ(A⊙P)/ΣA over all rows), for comparison; "
            + $"{analysis.DetectionBatch.Length} sequences.";
        return Evidence.Judge(name, claim, scores.Score(kind, head), threshold, bound, unit, detail,
            [new AttentionPatternData(head, 0, analysis.ExamplePattern(head), analysis.DetectionBatch[0])]);
    }

    /// <summary>The head <paramref name="head"/> names on the model, and how a report names it: <c>0.3 (0.previous-token)</c> for a role.</summary>
    private static (HeadId Head, string Named) Resolve(ModelAnalysis analysis, HeadId head)
    {
        var resolved = analysis.Resolve(head);
        return (resolved, resolved == head ? head.ToString() : $"{resolved} ({head})");
    }

    private static string? TaskTokens(ModelAnalysis analysis, string task, out (int[][] Mean, int[][] Evaluation) batches)
    {
        batches = default;
        if (!TaskNames.LossTasks.Contains(task))
        {
            return $"unknown task '{task}' (known: {string.Join(", ", TaskNames.LossTasks)}).";
        }

        batches = HeldOut.Batches(task, analysis.Config);
        return null;
    }

    /// <summary>What a loss was measured on, for the evidence's detail.</summary>
    private static string Sampled(int sequences, bool heldOut, double standardError) => string.Create(CultureInfo.InvariantCulture,
        $"{sequences} {(heldOut ? "held-out sequences (fresh samples of the task; means taken on another " + HeldOut.Sequences + ")" : "sequences")}, standard error {Evidence.Format(standardError)}");

    private static double StandardErrorOfMean(IReadOnlyList<double> values)
    {
        if (values.Count < 2)
        {
            return double.NaN;
        }

        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1) / values.Count);
    }
}
