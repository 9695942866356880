using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Reports;

namespace CircuitDsl.Docs;

/// <summary>
/// The documentation page of one checked circuit spec: the model card, each hypothesis as a sentence with its
/// measured value, threshold and verdict, and the pictures behind the numbers — attention patterns of the named
/// heads, OV eigenvalues, loss increases under ablation, composition heatmaps and path-expansion term sizes.
/// </summary>
/// <remarks>Every number on the page comes from the <see cref="CircuitReport"/> or the <see cref="ModelAnalysis"/> it was measured with.</remarks>
public static class CircuitPage
{
    /// <summary>The page for <paramref name="spec"/>, checked as <paramref name="report"/> on <paramref name="analysis"/>.</summary>
    /// <param name="spec">The circuit spec as written (generated <c>Documentation</c>).</param>
    /// <param name="report">What checking it found.</param>
    /// <param name="analysis">The model the report was measured on.</param>
    /// <param name="modelCard">Extra model-card rows, e.g. how the weights were trained and where they are.</param>
    /// <param name="seeds">
    /// The circuit checked on every training seed, when the model was trained on several: the page then lists each
    /// claim's value on every seed with their minimum, median and maximum, and <paramref name="report"/> and
    /// <paramref name="analysis"/> (the first seed's) give the pictures.
    /// </param>
    public static Document Build(CircuitDocumentation spec, CircuitReport report, ModelAnalysis analysis,
        IReadOnlyList<KeyValuePair<string, string>>? modelCard = null, SeedReport? seeds = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(analysis);
        var prefix = FilePrefix(spec.Name);
        var page = new DocumentBuilder(spec.Name);
        if (spec.Summary.Length > 0)
        {
            page.Paragraph(spec.Summary);
        }

        var holding = report.Evidence.Count(e => e.Verdict == Verdict.Holds);
        page.Paragraph(
            new Inline.Strong($"{holding} of {report.Evidence.Count} hypotheses hold"),
            $" on {spec.Model}" + (spec.Paper is null ? "." : "; from the paper's section "),
            spec.Paper is null ? "" : new Inline.Emphasis(spec.Paper),
            spec.Paper is null ? "" : ".");

        ModelCard(page, spec, analysis, modelCard);
        if (seeds is not null)
        {
            Seeds(page, seeds);
        }

        Summary(page, report);
        foreach (var evidence in report.Evidence)
        {
            Hypothesis(page, evidence, spec.Hypotheses.FirstOrDefault(h => h.Name == evidence.Hypothesis), prefix);
        }

        Composition(page, analysis, prefix);
        Paths(page, analysis, prefix);
        return page.Build();
    }

    private static void ModelCard(DocumentBuilder page, CircuitDocumentation spec, ModelAnalysis analysis,
        IReadOnlyList<KeyValuePair<string, string>>? extra)
    {
        var c = analysis.Config;
        var rows = new List<IReadOnlyList<Inline>>
        {
            Row("model", new Inline.Code(spec.Model)),
            Row("layers × heads", $"{c.NLayers} × {c.NHeads}"),
            Row("d_model / d_head", $"{c.DModel} / {c.DHead}"),
            Row("vocabulary / context", $"{c.DVocab} / {c.NCtx}"),
            Row("blocks", c.AttnOnly ? "attention only" : $"attention + MLP (d_mlp {c.DMlp}, {c.ActFn?.ToConfigValue()})"),
            Row("normalization", c.NormalizationType.ToConfigValue() ?? "none"),
            Row("positions", c.PositionalEmbeddingType.ToConfigValue()),
            Row("measured on", analysis.WeightProcessing),
            Row("detection batch", $"{analysis.DetectionBatch.Length} sequences of {analysis.DetectionBatch[0].Length} tokens"),
        };
        rows.AddRange((extra ?? []).Select(kv => Row(kv.Key, kv.Value)));
        page.Heading(2, "Model").Table(["", ""], rows);
    }

    private static void Seeds(DocumentBuilder page, SeedReport seeds)
    {
        var rows = seeds.Claims.Select(c => (IReadOnlyList<Inline>)
        [
            new Inline.Code(c.Hypothesis),
            ReportText.Sign(c.PerSeed[0].Evidence.Comparison) + " " + Fmt.Value(c.PerSeed[0].Evidence.Threshold),
            $"{c.Holding} of {c.PerSeed.Count} (needs {c.Required})",
            Fmt.Value(c.Min), Fmt.Value(c.Median), Fmt.Value(c.Max), Fmt.Value(c.Margin),
            string.Join(", ", c.PerSeed.Select(p => $"{p.Seed}: {Fmt.Value(p.Evidence.Measured)} {ReportText.Symbol(p.Evidence.Verdict)}"
                + (p.Evidence.WithinNoise ? " (within noise)" : ""))),
            new Inline.Verdict(c.Verdict),
        ]).ToList();
        page.Heading(2, "Across seeds")
            .Paragraph(
                new Inline.Strong($"{seeds.Claims.Count(c => c.Verdict == Verdict.Holds)} of {seeds.Claims.Count} hypotheses hold"),
                $" on the seeds they ask for; {Count(seeds.Seeds.Count, "seed")} ({string.Join(", ", seeds.Seeds)}). A claim holds when it holds "
                + "on every seed, or on as many as its OnSeeds names; the margin is the distance from the bound to the weakest seed it needs. "
                + "The sections below show the first seed.")
            .Table(["hypothesis", "claimed", "holds on", "min", "median", "max", "margin", "each seed", "verdict"], rows,
                [Align.Left, Align.Right, Align.Left, Align.Right, Align.Right, Align.Right, Align.Right, Align.Left, Align.Center]);
    }

    private static string Count(int n, string what) => n.ToString(CultureInfo.InvariantCulture) + " " + what + (n == 1 ? "" : "s");

    private static void Summary(DocumentBuilder page, CircuitReport report)
    {
        var rows = report.Evidence.Select(e => (IReadOnlyList<Inline>)
        [
            new Inline.Code(e.Hypothesis), e.Claim, e.Unit, Fmt.Value(e.Measured),
            ReportText.Sign(e.Comparison) + " " + Fmt.Value(e.Threshold), new Inline.Verdict(e.Verdict),
        ]).ToList();
        page.Heading(2, "Hypotheses")
            .Table(["hypothesis", "claim", "measured", "value", "claimed", "verdict"], rows,
                [Align.Left, Align.Left, Align.Left, Align.Right, Align.Right, Align.Center]);
        var bars = report.Evidence.Select(e => new Bar(e.Hypothesis, e.Measured / e.Threshold, 1, e.Verdict)).ToList();
        if (report.Evidence.All(e => e.Threshold > 0))
        {
            page.Figure(Svg.BarChart("Measured value ÷ threshold", bars, "measured / threshold"),
                "Each hypothesis's measured value as a multiple of its threshold; the tick at 1 is the threshold itself. "
                + "An at-least claim holds to the right of it, an at-most claim to the left.",
                $"{FilePrefix(report.Circuit)}-verdicts.svg");
        }
    }

    private static void Hypothesis(DocumentBuilder page, Evidence e, HypothesisDocumentation? spec, string prefix)
    {
        page.Heading(3, e.Hypothesis);
        var claimed = e.Comparison == Bound.AtLeast ? "at least" : "at most";
        var measured = e.Verdict == Verdict.NotMeasured
            ? $"Not measured: {e.Detail}"
            : $"Measured {e.Unit} = {Fmt.Value(e.Measured)}; claimed {claimed} {Fmt.Value(e.Threshold)}. ";
        page.Paragraph(
            e.Claim.Length > 0 ? e.Claim + " " : "",
            measured,
            new Inline.Verdict(e.Verdict),
            spec?.Paper is { } paper ? $" (paper: {paper})" : "");
        if (e.Verdict != Verdict.NotMeasured && e.Detail.Length > 0)
        {
            page.Paragraph(new Inline.Emphasis(e.Detail));
        }

        var file = $"{prefix}-{FilePrefix(e.Hypothesis)}";
        foreach (var data in e.Data)
        {
            Figure(page, e, data, file);
        }
    }

    /// <summary>The picture of one datum, for the kinds that have one.</summary>
    private static void Figure(DocumentBuilder page, Evidence e, EvidenceData data, string file)
    {
        switch (data)
        {
            case AttentionPatternData p:
                var n = p.Pattern.Dim(0);
                var values = new double[n, n];
                for (var q = 0; q < n; q++)
                {
                    for (var k = 0; k < n; k++)
                    {
                        values[q, k] = p.Pattern[q, k];
                    }
                }

                var labels = p.Tokens.Select(t => t.ToString(CultureInfo.InvariantCulture)).ToList();
                page.Figure(Svg.AttentionPattern($"Attention pattern of {p.Head}", values, labels),
                    $"Where each query position (row) attends among the key positions (columns) on sequence {p.Sequence} of the "
                    + "detection batch, labelled by token id.", file + "-pattern.svg");
                break;
            case EigenvaluesData v:
                page.Figure(Svg.ComplexPlane($"OV eigenvalues ({e.Unit} {Fmt.Value(e.Measured)})", v.Eigenvalues),
                    "Eigenvalues of the full OV circuit W_E W_OV W_U in the complex plane; mostly positive real parts mean the "
                    + "head copies the tokens it attends to.", file + "-eigenvalues.svg");
                break;
            case TermImportanceData i:
                var orders = Enumerable.Range(0, i.LossByOrder.Count).Select(k => (double)k).ToList();
                page.Figure(Svg.LineChart("Term importance", [new Series("terms of order ≤ k", orders, i.LossByOrder),
                        new Series("unembedding constant alone", orders, [.. orders.Select(_ => i.ConstantLoss)])], "largest path order k", "loss (nats)"),
                    "The loss of the logits built from the path terms through at most k heads, beside the loss of the unembedding's "
                    + "constant alone; the last point is the model's loss.", file + "-importance.svg");
                break;
            case LossChangeData l:
                var mean = l.MeanOverSequences();
                var x = Enumerable.Range(1, mean.Count).Select(p => (double)p).ToList();
                page.Figure(Svg.LineChart("Loss increase by position", [new Series("mean over sequences", x, mean)],
                        "predicted position", "nats"),
                    "How much the loss on each predicted token rises under the ablation, averaged over the sequences.",
                    file + "-loss.svg");
                break;
        }
    }

    private static void Composition(DocumentBuilder page, ModelAnalysis analysis, string prefix)
    {
        var table = analysis.Composition;
        if (table.Writers.Count == 0)
        {
            return;
        }

        var charts = Enum.GetValues<CompositionKind>().Select(kind =>
            Svg.Heatmap($"{kind}-composition", table.Matrix(kind), [.. table.Writers.Select(h => h.ToString())],
                [.. table.Readers.Select(h => h.ToString())],
                new HeatmapOptions
                {
                    Scale = ColorScale.Sequential(0, table.MaxScore), RowAxisLabel = "earlier head (writes)",
                    ColumnAxisLabel = "later head (reads)", ValueLabel = "score",
                })).ToList();
        page.Heading(2, "Composition")
            .Paragraph("How much each later head's queries (Q), keys (K) or values (V) read from the subspace each earlier head "
                + $"writes: ‖W_OV·R‖ / (‖W_OV‖ ‖R‖). Random matrices score about {Fmt.Value(table.RandomBaseline)} (1/√d_model).")
            .Figure(Svg.SideBySide("Composition scores", charts), "Q-, K- and V-composition scores for every earlier/later head pair.",
                $"{prefix}-composition.svg");
    }

    private static void Paths(DocumentBuilder page, ModelAnalysis analysis, string prefix)
    {
        page.Heading(2, "Path expansion");
        if (analysis.PathShares.Count == 0)
        {
            page.Paragraph(analysis.Unmeasurable is { } why
                ? $"Not measured: {why}"
                : "Not drawn: even the paths through no head would not fit one decomposition of the example sequence.");
            return;
        }

        var bars = analysis.PathShares.OrderByDescending(t => t.Share).Take(16)
            .Select(t => new Bar(t.Id?.ToString() ?? "rest", t.Share)).ToList();
        page.Paragraph("The logits as an exact sum of paths through the model (the paper's path expansion, for any architecture: "
                + "attention patterns and LayerNorm scales frozen at their values on the example sequence). A path is a source — "
                + "the token embedding, the positions, a layer's biases, an MLP's output or the unembedding bias — followed by "
                + $"heads in later and later layers, each read through its values; paths through more than {analysis.PathOrder} "
                + "heads are summed as \"rest\". Each bar is a term's squared Frobenius norm on the first detection sequence, "
                + "as a share of the sum over all terms.")
            .Figure(Svg.BarChart("Path-expansion term sizes", bars, "share of the squared logit norm"),
                "The largest terms of the path expansion on an example sequence.", $"{prefix}-paths.svg");
        TermImportance(page, analysis, prefix);
        if (analysis.Config.NLayers > 0)
        {
            LogitLens(page, analysis, prefix);
            HeadAttribution(page, analysis, prefix);
        }
    }

    private static void TermImportance(DocumentBuilder page, ModelAnalysis analysis, string prefix)
    {
        PathTermSet paths;
        try
        {
            paths = analysis.Paths();
        }
        catch (ArgumentException e)
        {
            page.Paragraph($"Term importance not drawn: {e.Message}");
            return;
        }

        var losses = paths.Decomposition.Importance();
        var constant = paths.Decomposition.LossOf(paths.UnembedBias.Logits);
        var orders = losses.Select(l => (double)l.Order).ToList();
        page.Figure(Svg.LineChart("Term importance by order", [new Series("terms of order ≤ k", orders, [.. losses.Select(l => l.Loss)]),
                new Series("unembedding constant alone", orders, [.. orders.Select(_ => constant)])], "largest path order k", "loss (nats)"),
            $"The paper's term importance on the {analysis.DetectionBatch.Length} detection sequences: the loss of the logits built "
            + "from only the path terms through at most k heads (patterns and LayerNorm scales frozen). Order 0 is the direct path "
            + "with the constants and MLP outputs; the last order is the model itself.", $"{prefix}-importance.svg");
    }

    private static void LogitLens(DocumentBuilder page, ModelAnalysis analysis, string prefix)
    {
        var lens = analysis.Residual.LogitLens();
        var layers = Enumerable.Range(0, lens.Count).Select(l => (double)l).ToList();
        page.Figure(Svg.LineChart("Logit lens", [new Series("loss of the next token", layers, [.. lens.Select(l => l.MeanLoss)])],
                "residual stream before layer (last: after the final layer)", "loss (nats)"),
            $"The residual stream before each layer ({string.Join(", ", lens.Select(l => l.Label))}) read through the final "
            + "LayerNorm (its scale frozen) and the unembedding: the mean loss of the next token on the detection batch, layer by layer.",
            $"{prefix}-lens.svg");
    }

    private static void HeadAttribution(DocumentBuilder page, ModelAnalysis analysis, string prefix)
    {
        page.Figure(Svg.HeadAttribution("Direct logit attribution", analysis.Residual.Attribute().MeanByHead()),
            "What each head's output adds directly, through the frozen final LayerNorm and the unembedding, to the logit of the "
            + "token that comes next, averaged over every position of the detection batch.", $"{prefix}-attribution.svg");
    }

    private static IReadOnlyList<Inline> Row(string key, Inline value) => [key, value];

    /// <summary>A file-name-safe, lower-case stem for <paramref name="name"/>.</summary>
    public static string FilePrefix(string name) =>
        new([.. name.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-')]);
}
