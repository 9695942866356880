using System.Globalization;
using CircuitDsl.Patching;
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
    /// <see cref="Ablation(ModelAnalysis, string, string, HeadId, int[][], double, Bound, int[][])"/> on the tokens of a
    /// file (a claim's <c>Data</c>), the means taken on the same tokens; a file that is missing, corrupt or does not fit
    /// the model makes the claim not measured, with the reason naming the file.
    /// </summary>
    public static Evidence Ablation(ModelAnalysis analysis, string name, string claim, HeadId head, TokenData data, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return DataTokens(analysis, data, out var tokens) is { } why
            ? Evidence.NotMeasured(name, claim, threshold, bound, $"loss increase (nats) when {head} is mean-ablated", why)
            : OnData(Ablation(analysis, name, claim, head, tokens, threshold, bound), data);
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
    /// <see cref="Faithfulness(ModelAnalysis, string, string, HeadId[], int[][], double, Bound, int[][])"/> on the tokens of
    /// a file (a claim's <c>Data</c>), the means taken on the same tokens; a file that is missing, corrupt or does not fit
    /// the model makes the claim not measured, with the reason naming the file.
    /// </summary>
    public static Evidence Faithfulness(ModelAnalysis analysis, string name, string claim, HeadId[] heads, TokenData data, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return DataTokens(analysis, data, out var tokens) is { } why
            ? Evidence.NotMeasured(name, claim, threshold, bound, "fraction of loss recovered", why)
            : OnData(Faithfulness(analysis, name, claim, heads, tokens, threshold, bound), data);
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

    /// <summary>
    /// The path term named <paramref name="term"/> (<see cref="PathTermNames"/>: <c>direct</c>, a head, <c>b{l}</c>,
    /// <c>mlp{l}</c> or <c>b_U</c>) of the path expansion on held-out sequences of <paramref name="task"/> drawn with
    /// <paramref name="seed"/>, or on the detection batch when <paramref name="task"/> is null (<see cref="ModelAnalysis.Paths"/>): its
    /// <paramref name="measure"/> — share of the logits, or mean contribution to the next token's logit — is on the
    /// <paramref name="bound"/> side of <paramref name="threshold"/>.
    /// </summary>
    public static Evidence PathTerm(ModelAnalysis analysis, string name, string claim, string term, PathMeasure measure, string? task, int seed,
        double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var unit = PathUnit(measure, $"path term {term}");
        if (!PathTermNames.TryParse(term, out var kind, out var head, out var layer, out var error))
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, error!);
        }

        var config = analysis.Config;
        var inModel = kind switch
        {
            PathTermKind.Head => analysis.WhyNotMeasurable(head) is null,
            PathTermKind.AttentionBias => layer < config.NLayers,
            PathTermKind.Mlp => config.HasMlp && layer < config.NLayers,
            _ => true,
        };
        if (!inModel)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                $"this model ({config.NLayers} layers of {config.NHeads} heads{(config.HasMlp ? ", with MLPs" : ", attention only")}) has no path term {term}.");
        }

        if (Paths(analysis, task, seed) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var paths = analysis.Paths(task, seed);
        var chosen = kind switch
        {
            PathTermKind.Direct => paths.Direct,
            PathTermKind.Head => paths.Through(head),
            PathTermKind.AttentionBias => paths.Source(PathSource.AttentionBias(layer)),
            PathTermKind.Mlp => paths.Source(PathSource.Mlp(layer)),
            _ => paths.UnembedBias,
        };
        return PathTermEvidence(name, claim, paths, chosen, measure, task, seed, threshold, bound, unit);
    }

    /// <summary>
    /// The virtual head <paramref name="head"/> ∘ <paramref name="through"/> — the embeddings through
    /// <paramref name="through"/>, then by its values through <paramref name="head"/> of a later layer — of the path
    /// expansion on <paramref name="task"/>'s held-out sequences (the detection batch when null), as
    /// <c>PathTerm</c>: its <paramref name="measure"/> is on the <paramref name="bound"/> side of <paramref name="threshold"/>.
    /// </summary>
    public static Evidence VirtualHead(ModelAnalysis analysis, string name, string claim, HeadId head, HeadId through, PathMeasure measure,
        string? task, int seed, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var unit = PathUnit(measure, $"virtual head {head} through {through}");
        if ((analysis.WhyNotMeasurable(through, head) ?? Paths(analysis, task, seed)) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        if (through.Layer >= head.Layer)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                $"head {through} is not in an earlier layer than {head}, so no path runs through {through} and then {head}.");
        }

        var paths = analysis.Paths(task, seed);
        return PathTermEvidence(name, claim, paths, paths.Through(through, head), measure, task, seed, threshold, bound, unit);
    }

    /// <summary>
    /// Term importance on <paramref name="task"/>'s held-out sequences (the detection batch when null), as
    /// <c>PathTerm</c>: the logits built from only the path terms of order at most
    /// <paramref name="order"/> recover the fraction <c>(L_const − L_order) / (L_const − L_model)</c> of the loss, where
    /// <c>L_const</c> is the loss of the unembedding's constant alone; that fraction is on the <paramref name="bound"/>
    /// side of <paramref name="threshold"/>.
    /// </summary>
    public static Evidence TermImportance(ModelAnalysis analysis, string name, string claim, int order, string? task, int seed, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var unit = string.Create(CultureInfo.InvariantCulture, $"fraction of the loss recovered by the path terms of order <= {order}");
        if (order < 0 || order > analysis.Config.NLayers)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                string.Create(CultureInfo.InvariantCulture, $"path orders of this model run from 0 to its {analysis.Config.NLayers} layers, not {order}."));
        }

        if (Paths(analysis, task, seed) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        var paths = analysis.Paths(task, seed);
        var losses = paths.Decomposition.Importance().Select(l => l.Loss).ToList();
        var constant = paths.Decomposition.LossOf(paths.UnembedBias.Logits);
        EvidenceData[] data = [new TermImportanceData(constant, losses)];
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"{Batch(paths, task, seed)}; loss {Evidence.Format(losses[order])} nats "
            + $"with the terms of order <= {order}, {Evidence.Format(losses[^1])} the model's, {Evidence.Format(constant)} the constant's.");
        if (constant == losses[^1])
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit,
                "the model's loss is the unembedding constant's, so there is no loss for the terms to recover.", data);
        }

        return Evidence.Judge(name, claim, (constant - losses[order]) / (constant - losses[^1]), threshold, bound, unit, detail, data);
    }

    private static string PathUnit(PathMeasure measure, string term) =>
        measure == PathMeasure.NextTokenLogit ? $"mean next-token logit of {term}" : $"share of the logits of {term}";

    /// <summary>Why the analysis has no path terms on the batch (non-finite weights, a task it cannot draw, too many paths), or null when it has.</summary>
    private static string? Paths(ModelAnalysis analysis, string? task, int seed)
    {
        if (analysis.Unmeasurable is { } why)
        {
            return why;
        }

        try
        {
            _ = analysis.Paths(task, seed);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"the path terms cannot be listed: {e.Message}";
        }
    }

    /// <summary>Which batch the paths were expanded on, for a detail line.</summary>
    private static string Batch(PathTermSet paths, string? task, int seed) => string.Create(CultureInfo.InvariantCulture,
        $"{paths.Decomposition.Tokens.Count} sequences of {(task is null ? "the detection batch" : $"the {task} task (seed {seed})")}; patterns and LayerNorm scales frozen");

    private static Evidence PathTermEvidence(string name, string claim, PathTermSet paths, Circuits.PathTerm term,
        PathMeasure measure, string? task, int seed, double threshold, Bound bound, string unit)
    {
        var data = new PathTermData(term.Name, term.Share, term.NextTokenLogit(), paths.RemovalLossChange(term));
        var detail = $"{Batch(paths, task, seed)}; removing the term changes the loss by {Evidence.Format(data.RemovalLossChange)} nats.";
        return Evidence.Judge(name, claim, measure == PathMeasure.NextTokenLogit ? data.MeanNextTokenLogit() : data.Share, threshold, bound, unit,
            detail, [data]);
    }

    /// <summary>
    /// Activation patching from <paramref name="clean"/> into <paramref name="corrupted"/> (docs/math.md, "Activation
    /// patching"): the normalised logit difference of <paramref name="answer"/> over <paramref name="wrong"/> with
    /// <paramref name="what"/> patched at <paramref name="layer"/> (or of <paramref name="head"/>) and at
    /// <paramref name="position"/> (every position when null) is on the <paramref name="bound"/> side of <paramref name="threshold"/>.
    /// </summary>
    public static Evidence Patching(ModelAnalysis analysis, string name, string claim, PatchedActivation what, int layer, HeadId? head,
        int? position, int[] clean, int[] corrupted, int answer, int wrong, double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        string? named = null;
        if (head is { } written)
        {
            (var resolved, named) = Resolve(analysis, written);
            head = resolved;
        }

        var at = named is not null ? $"of {named}" : $"at layer {layer}";
        var unit = $"logit difference restored by patching {what} {at}{(position is { } p ? $", position {p}" : "")} (clean = 1, corrupted = 0)";
        if (head is { } id && analysis.WhyNotMeasurable(id) is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        ActivationPatching patching;
        double value;
        try
        {
            patching = ActivationPatching.Prepare(analysis.Model, [clean], [corrupted], answer, wrong);
            value = patching.Patch(what, layer, position, head?.Head);
        }
        catch (ArgumentException e)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, e.Message);
        }

        return Evidence.Judge(name, claim, value, threshold, bound, unit,
            $"logit[{answer}] − logit[{wrong}] at the last position: clean {Evidence.Format(patching.CleanMetric)}, "
            + $"corrupted {Evidence.Format(patching.CorruptedMetric)}.");
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

    /// <summary>Reads a claim's data file for <paramref name="analysis"/>'s model; the reason it cannot be used (naming the file), or null.</summary>
    private static string? DataTokens(ModelAnalysis analysis, TokenData data, out int[][] tokens)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            tokens = data.Read(analysis.Config);
            return null;
        }
        catch (WeightsFormatException e)
        {
            tokens = [];
            return e.Message;
        }
    }

    /// <summary>Evidence measured on a data file, its detail naming the file.</summary>
    private static Evidence OnData(Evidence evidence, TokenData data) => evidence with { Detail = $"on {data.RelativePath}: {evidence.Detail}" };

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
