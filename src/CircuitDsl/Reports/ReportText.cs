using System.Text;
using CircuitDsl.Tensors;

namespace CircuitDsl.Reports;

/// <summary>
/// Reports as plain text, the one place that says evidence in words: <see cref="CircuitReport.ToText"/>, the
/// assertions' failure messages and the console's verdict table are made of these pieces. Values are rounded to 3
/// decimals (<see cref="Evidence.Format"/>), so the text is stable across machines and suitable for snapshot tests.
/// Markdown and HTML pages reuse the verdict marks and the bound's sign.
/// </summary>
public static class ReportText
{
    /// <summary>
    /// <paramref name="report"/>: a header (circuit, model, weight processing, how many hypotheses hold), then one
    /// <see cref="Describe(Evidence, string)"/> block per hypothesis, blocks separated by a blank line.
    /// </summary>
    public static string Describe(CircuitReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        var holding = report.Evidence.Count(e => e.Verdict == Verdict.Holds);
        sb.Append("circuit ").Append(report.Circuit).Append(" on ").Append(report.Model).Append('\n');
        sb.Append("weights: ").Append(report.WeightProcessing).Append('\n');
        sb.Append(holding).Append(" of ").Append(report.Evidence.Count).Append(" hypotheses hold").Append('\n');
        foreach (var e in report.Evidence)
        {
            sb.Append('\n').Append(Describe(e));
        }

        return sb.ToString();
    }

    /// <summary>
    /// <paramref name="evidence"/> as a block of lines, each starting with <paramref name="indent"/>, e.g.
    /// <c>[Fails] PreviousToken: previous-token score of 0.2 = 0.523, claimed &gt;= 0.700 (0.177 short)</c>, then the
    /// claim, the detail and one line per datum (<see cref="Describe(EvidenceData)"/>), each indented two more spaces.
    /// </summary>
    public static string Describe(Evidence evidence, string indent = "")
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(indent);
        var sb = new StringBuilder();
        sb.Append(indent).Append('[').Append(evidence.Verdict).Append("] ").Append(evidence.Hypothesis).Append(": ")
            .Append(evidence.Unit).Append(" = ").Append(Evidence.Format(evidence.Measured))
            .Append(", claimed ").Append(evidence.Comparison == Bound.AtLeast ? ">= " : "<= ").Append(Evidence.Format(evidence.Threshold));
        if (evidence.Verdict == Verdict.Fails)
        {
            var gap = Math.Abs(evidence.Measured - evidence.Threshold);
            sb.Append(" (").Append(Evidence.Format(gap)).Append(evidence.Comparison == Bound.AtLeast ? " short)" : " over)");
        }

        if (evidence.WithinNoise)
        {
            sb.Append(' ').Append(WithinNoise);
        }

        sb.Append('\n');
        if (evidence.Claim.Length > 0)
        {
            sb.Append(indent).Append("  claim: ").Append(evidence.Claim).Append('\n');
        }

        if (evidence.Detail.Length > 0)
        {
            sb.Append(indent).Append("  detail: ").Append(evidence.Detail).Append('\n');
        }

        foreach (var data in evidence.Data)
        {
            sb.Append(indent).Append("  data ").Append(Describe(data)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>
    /// One datum in a line: what it is, of which heads, and its shape or its few values, e.g.
    /// <c>attention pattern of 0.2 on sequence 0 [62, 62]</c> or
    /// <c>composition scores 0.2 -&gt; 1.3: Q 0.087, K 0.270, V 0.055; random baseline 0.125</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A kind of data this version does not know.</exception>
    public static string Describe(EvidenceData data) => data switch
    {
        AttentionPatternData p => $"attention pattern of {p.Head} on sequence {p.Sequence} {Tensor.FormatShape(p.Pattern.Shape)}",
        EigenvaluesData v => $"{v.Eigenvalues.Count} eigenvalues of the full OV circuit W_E·W_OV·W_U of {v.Head}",
        CompositionData c => $"composition scores {c.From} -> {c.To}: Q {Evidence.Format(c.Q)}, K {Evidence.Format(c.K)}, "
            + $"V {Evidence.Format(c.V)}; random baseline {Evidence.Format(c.RandomBaseline)}",
        LossChangeData l => $"per-token loss increase when {l.Head} is mean-ablated {Tensor.FormatShape(l.PerToken.Shape)}",
        FaithfulnessData f => $"mean loss in nats of the whole model {Evidence.Format(f.FullLoss)}, of the circuit "
            + $"({string.Join(", ", f.Circuit)}) {Evidence.Format(f.CircuitLoss)}, with every head mean-ablated {Evidence.Format(f.AblatedLoss)}",
        BigramFitData b => $"log-probabilities [current, next] of the direct path and of the chain, {Tensor.FormatShape(b.ModelLogProbs.Shape)} each",
        SkipTrigramData s => $"{s.Triples.Count} planted skip-trigrams (anchor, trigger, output) ranked in the full QK and OV circuits of {s.Head}",
        PathTermData t => $"path term {t.Term}: share {Evidence.Format(t.Share)}, mean next-token logit {Evidence.Format(t.MeanNextTokenLogit())}, "
            + $"loss change when removed {Evidence.Format(t.RemovalLossChange)} nats; next-token logits {Tensor.FormatShape(t.NextTokenLogit.Shape)}",
        TermImportanceData i => $"loss in nats of the unembedding's constant alone {Evidence.Format(i.ConstantLoss)}, of the terms of order "
            + string.Join(", ", i.LossByOrder.Select((loss, order) => $"<= {order} {Evidence.Format(loss)}")),
        null => throw new ArgumentNullException(nameof(data)),
        _ => throw new ArgumentOutOfRangeException(nameof(data), data.GetType().Name, "Unknown kind of evidence data."),
    };

    /// <summary>A verdict as a mark, the same in every medium: "✓ holds", "✗ fails", "– not measured".</summary>
    public static string Mark(Verdict verdict) => Symbol(verdict) + " " + Word(verdict);

    /// <summary>The symbol of a verdict's mark: ✓, ✗ or –.</summary>
    public static string Symbol(Verdict verdict) => verdict switch
    {
        Verdict.Holds => "✓",
        Verdict.Fails => "✗",
        _ => "–",
    };

    /// <summary>The words of a verdict's mark: holds, fails or not measured.</summary>
    public static string Word(Verdict verdict) => verdict switch
    {
        Verdict.Holds => "holds",
        Verdict.Fails => "fails",
        _ => "not measured",
    };

    /// <summary>The sign of a bound for readers: ≥ or ≤.</summary>
    public static string Sign(Bound comparison) => comparison == Bound.AtLeast ? "≥" : "≤";

    /// <summary>What a hypothesis claims of its value, for a table: <c>≥ 0.800</c>.</summary>
    public static string Claimed(Evidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        return Sign(evidence.Comparison) + " " + Evidence.Format(evidence.Threshold);
    }

    /// <summary>What a report says of a value less than two standard errors from its threshold.</summary>
    public const string WithinNoise = "(within noise: less than 2 standard errors from the threshold)";

    /// <summary>
    /// <paramref name="report"/>: a header (circuit, model, the seeds, weight processing, how many claims hold across
    /// seeds), then per claim its verdict across seeds, the value on each seed with their minimum, median and maximum,
    /// and the claim; blocks separated by a blank line.
    /// </summary>
    public static string Describe(SeedReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append("circuit ").Append(report.Circuit).Append(" on ").Append(report.Model).Append(", ").Append(report.Seeds.Count)
            .Append(report.Seeds.Count == 1 ? " seed: " : " seeds: ").Append(string.Join(", ", report.Seeds)).Append('\n');
        sb.Append("weights: ").Append(report.WeightProcessing).Append('\n');
        sb.Append(report.Claims.Count(c => c.Verdict == Verdict.Holds)).Append(" of ").Append(report.Claims.Count)
            .Append(" hypotheses hold on the seeds they ask for").Append('\n');
        foreach (var claim in report.Claims)
        {
            sb.Append('\n').Append(Describe(claim));
        }

        return sb.ToString();
    }

    /// <summary>
    /// One claim across seeds as a block of lines, e.g. <c>[Holds] PreviousTokenHead on 5 of 5 seeds (needs 5):
    /// previous-token score of 0.2, claimed &gt;= 0.800</c>, then <c>min 0.901, median 0.930, max 0.962</c>, a line per
    /// seed (its value and verdict, and what was measured where that differs between seeds) and the claim.
    /// </summary>
    public static string Describe(ClaimAcrossSeeds claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var first = claim.PerSeed[0].Evidence;
        var sameUnit = claim.PerSeed.All(p => p.Evidence.Unit == first.Unit);
        var sb = new StringBuilder();
        sb.Append('[').Append(claim.Verdict).Append("] ").Append(claim.Hypothesis).Append(" on ").Append(claim.Holding).Append(" of ")
            .Append(claim.PerSeed.Count).Append(" seeds (needs ").Append(claim.Required).Append("): ")
            .Append(sameUnit ? first.Unit : UnitWithoutHead(first.Unit)).Append(", claimed ").Append(first.Comparison == Bound.AtLeast ? ">= " : "<= ")
            .Append(Evidence.Format(first.Threshold)).Append('\n');
        sb.Append("  min ").Append(Evidence.Format(claim.Min)).Append(", median ").Append(Evidence.Format(claim.Median))
            .Append(", max ").Append(Evidence.Format(claim.Max)).Append("; margin ").Append(Evidence.Format(claim.Margin))
            .Append(claim.Required == claim.PerSeed.Count ? " (weakest seed to the bound)" : $" (weakest of the {claim.Required} best seeds to the bound)")
            .Append('\n');
        foreach (var (seed, e) in claim.PerSeed)
        {
            sb.Append("  seed ").Append(seed).Append(": ").Append(Evidence.Format(e.Measured)).Append(' ').Append(Word(e.Verdict));
            if (!sameUnit)
            {
                sb.Append(" (").Append(e.Unit).Append(')');
            }

            if (double.IsFinite(e.StandardError))
            {
                sb.Append(", standard error ").Append(Evidence.Format(e.StandardError));
            }

            if (e.WithinNoise)
            {
                sb.Append(' ').Append(WithinNoise);
            }

            if (e.Verdict == Verdict.NotMeasured)
            {
                sb.Append(": ").Append(e.Detail);
            }

            sb.Append('\n');
        }

        if (first.Claim.Length > 0)
        {
            sb.Append("  claim: ").Append(first.Claim).Append('\n');
        }

        if (first.Detail.Length > 0)
        {
            sb.Append("  detail (seed ").Append(claim.PerSeed[0].Seed).Append("): ").Append(first.Detail).Append('\n');
        }

        return sb.ToString();
    }

    // "previous-token score of 0.2" → "previous-token score" when the head differs from seed to seed.
    private static string UnitWithoutHead(string unit)
    {
        var of = unit.LastIndexOf(" of ", StringComparison.Ordinal);
        return of > 0 ? unit[..of] : unit;
    }
}
