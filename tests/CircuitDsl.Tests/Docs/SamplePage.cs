using System.Numerics;
using CircuitDsl.Docs;

namespace CircuitDsl.Tests.Docs;

/// <summary>
/// A page like the one <c>circuitdsl docs</c> will write for the paper's 2-layer induction circuit, on made-up but
/// plausible numbers: every chart kind, tables with verdicts, code, two chapters. Used by the HTML and screenshot tests.
/// </summary>
internal static class SamplePage
{
    /// <summary>The largest |value| of the signed OV heatmap; its extreme cells get exactly the scale's end colours.</summary>
    public const double OvLimit = 4;

    public static readonly string[] Heads0 = ["0.0", "0.1", "0.2", "0.3"];
    public static readonly string[] Heads1 = ["1.0", "1.1", "1.2", "1.3"];

    public static string Html() => HtmlPage.Render("Circuits of attn-only-2l", Introduction(), [Induction(), SkipTrigrams()]);

    public static IReadOnlyList<Block> Introduction() =>
    [
        new Paragraph("Checked against the trained weights in ", new Inline.Code("specs/attn-only-2l/"), ". Each chapter is one circuit spec: its hypotheses, what was measured, and the evidence."),
        new Table(["spec", "hypotheses", "hold", "fail", "not measured"],
        [
            [new Inline.Link("Induction heads", "#induction-heads"), "6", "4", "1", "1"],
            [new Inline.Link("Skip-trigrams", "#skip-trigrams"), "2", "1", "0", "1"],
        ], [Align.Left, Align.Right, Align.Right, Align.Right, Align.Right]),
    ];

    public static Document Induction()
    {
        var hypotheses = new (string Name, string Code, double Measured, double Threshold, Reports.Verdict Outcome)[]
        {
            ("Head 0.2 is a previous-token head", "PreviousToken(\"0.2\")", 0.968, 0.9, Reports.Verdict.Holds),
            ("Head 1.1 is an induction head", "Induction(\"1.1\")", 0.912, 0.8, Reports.Verdict.Holds),
            ("1.1 K-composes with 0.2", "KComposition(\"0.2\", \"1.1\")", 0.514, 0.3, Reports.Verdict.Holds),
            ("Head 1.1 copies", "Copying(\"1.1\")", 0.931, 0.7, Reports.Verdict.Holds),
            ("1.1 Q-composes with 0.2", "QComposition(\"0.2\", \"1.1\")", 0.083, 0.3, Reports.Verdict.Fails),
            ("Head 1.3 is a duplicate-token head", "DuplicateToken(\"1.3\")", double.NaN, 0.5, Reports.Verdict.NotMeasured),
        };
        var b = new DocumentBuilder("Induction heads")
            .Paragraph("A previous-token head in layer 0 writes each token's predecessor into the residual stream; an induction head in layer 1 reads it through ",
                new Inline.Strong("K-composition"), ", attends to the token after an earlier copy of the current one, and copies it (",
                new Inline.Emphasis("Elhage et al. 2021"), ", §Induction heads). Scores are defined in docs/math.md; thresholds are the spec's.")
            .Heading(2, "Hypotheses")
            .Table(["hypothesis", "check", "measured", "threshold", "verdict"],
                [.. hypotheses.Select(h => (IReadOnlyList<Inline>)[h.Name, new Inline.Code(h.Code), double.IsNaN(h.Measured) ? "–" : Fmt(h.Measured), "≥ " + Fmt(h.Threshold), new Inline.Verdict(h.Outcome)])],
                [Align.Left, Align.Left, Align.Right, Align.Right, Align.Left])
            .Figure(Svg.BarChart("Measured vs threshold", [.. hypotheses.Select(h => new Bar(h.Name, h.Measured, h.Threshold, h.Outcome))], "score"),
                "Each hypothesis's measured score; the black tick is its threshold. Hatching and the text mark repeat the verdict for greyscale print.", "verdicts.svg")
            .Heading(2, "Evidence")
            .Heading(3, "OV circuit of head 1.1")
            .Figure(Svg.Heatmap("W_U W_OV W_E of head 1.1, tokens 0–9", OvCircuit(),
                    [.. Enumerable.Range(0, 10).Select(i => "out " + i)], [.. Enumerable.Range(0, 10).Select(i => "in " + i)],
                    new HeatmapOptions { Scale = ColorScale.Diverging(OvLimit), RowAxisLabel = "output token logit", ColumnAxisLabel = "attended-to token", ValueLabel = "logit" }),
                "The OV circuit maps each attended-to token mostly to itself: a red diagonal on a pale, mostly blue field is a copying head.", "ov-circuit-1-1.svg")
            .Figure(Svg.ComplexPlane("OV eigenvalues of head 1.1 (copying 0.93)", Eigenvalues()),
                "Eigenvalues of W_OV of head 1.1. Mostly positive real parts: the head copies what it attends to.", "ov-eigenvalues-1-1.svg")
            .Heading(3, "Composition")
            .Figure(Svg.SideBySide("Composition scores, layer 0 → layer 1",
                [.. new[] { "Q", "K", "V" }.Select((kind, k) => Svg.Heatmap($"{kind}-composition", Composition(k), Heads0, Heads1,
                    new HeatmapOptions { Scale = ColorScale.Sequential(0, 1), RowAxisLabel = "layer-0 head", ColumnAxisLabel = "layer-1 head" }))]),
                "Composition scores ‖W_QK^T W_OV‖ / (‖W_QK‖ ‖W_OV‖) for every pair of heads. K-composition 0.2 → 1.1 stands out; one V score was not computed (hatched).", "composition.svg")
            .Heading(3, "Attention patterns")
            .Figure(Svg.SideBySide("Attention on a repeated random sequence",
                [Svg.AttentionPattern("Head 0.2 (previous token)", Pattern(previous: true), Tokens()), Svg.AttentionPattern("Head 1.1 (induction)", Pattern(previous: false), Tokens())], gap: 16),
                "Patterns on the sequence 17 4 42 9 31 8 17 4 42 9 31 8 (queries down, keys across). Head 0.2 attends one back; head 1.1 attends to the token after the previous copy.", "patterns.svg")
            .Heading(3, "Path expansion")
            .Figure(Svg.BarChart("Contribution of each path to the correct logit", PathTerms(), "mean logit contribution"),
                "Path-expansion terms of the logits on the second half of the sequence. The virtual path through 0.2 → 1.1 carries the prediction.", "paths.svg")
            .Heading(3, "Training")
            .Figure(Svg.LineChart("Loss during training", LossCurves(), "step", "loss (nats)"),
                "Next-token cross-entropy. The bump near step 900 is the induction-head phase change.", "loss.svg")
            .Heading(2, "Spec")
            .Code("""
                /// <summary>Induction heads: 0.2 finds the previous token, 1.1 uses it to attend and copy.</summary>
                [Circuit("attn-only-2l")]
                public sealed partial class InductionHeads
                {
                    [PreviousToken("0.2", AtLeast = 0.9)] public partial Hypothesis PreviousToken { get; }
                    [Induction("1.1", AtLeast = 0.8)] public partial Hypothesis Induction { get; }
                    [Composition(CompositionKind.K, From = "0.2", To = "1.1", AtLeast = 0.3)] public partial Hypothesis KComposition { get; }
                }
                """, "csharp");
        return b.Build();
    }

    public static Document SkipTrigrams() => new DocumentBuilder("Skip-trigrams")
        .Paragraph("A one-layer model's heads implement skip-trigrams ", new Inline.Code("A … B → C"), ": attend from B back to A, raise C's logit.")
        .Table(["hypothesis", "measured", "threshold", "verdict"],
        [
            ["Head 0.1 attends from \"|\" to \"open\"", "0.74", "≥ 0.5", new Inline.Verdict(Reports.Verdict.Holds)],
            ["Head 0.3 boosts \"close\"", "–", "≥ 0.5", new Inline.Verdict(Reports.Verdict.NotMeasured)],
        ], [Align.Left, Align.Right, Align.Right, Align.Left])
        .Build();

    private static string Fmt(double v) => v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);

    public static double[,] OvCircuit()
    {
        var m = new double[10, 10];
        for (var i = 0; i < 10; i++)
            for (var j = 0; j < 10; j++)
                m[i, j] = i == j ? 2.2 + 0.18 * i : -0.35 + 0.6 * Math.Sin(1.7 * i + 2.3 * j) * Math.Cos(0.9 * i - 0.4 * j);
        m[7, 7] = OvLimit;
        m[2, 5] = -OvLimit;
        return m;
    }

    public static Complex[] Eigenvalues()
    {
        var list = new List<Complex>();
        for (var k = 0; k < 6; k++) list.Add(new Complex(1.9 + 0.35 * Math.Cos(k * 1.3), 0));
        for (var k = 0; k < 4; k++)
        {
            var z = Complex.FromPolarCoordinates(1.2 + 0.2 * k, 0.25 + 0.22 * k);
            list.Add(z);
            list.Add(Complex.Conjugate(z));
        }

        list.Add(new Complex(-0.45, 0));
        list.Add(new Complex(-0.2, 0.3));
        list.Add(new Complex(-0.2, -0.3));
        list.Add(new Complex(0.05, 0));
        return [.. list];
    }

    private static double[,] Composition(int kind)
    {
        var m = new double[4, 4];
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 4; j++)
                m[i, j] = 0.04 + 0.05 * ((i * 3 + j * 5 + kind * 7) % 4);
        if (kind == 1) m[2, 1] = 0.514;
        if (kind == 0) m[2, 1] = 0.083;
        if (kind == 2) m[0, 3] = double.NaN;
        return m;
    }

    public static string[] Tokens() => ["17", "4", "42", "9", "31", "8", "17", "4", "42", "9", "31", "8"];

    private static double[,] Pattern(bool previous)
    {
        const int n = 12, half = 6;
        var p = new double[n, n];
        for (var q = 0; q < n; q++)
        {
            var target = previous ? Math.Max(0, q - 1) : q >= half ? q - half + 1 : 0;
            var rest = q == 0 ? 0 : 0.12 / q;
            for (var k = 0; k <= q; k++) p[q, k] = k == target ? 0.88 + (q == 0 ? 0.12 : 0) : rest;
            if (q > 0)
            {
                var sum = 0.0;
                for (var k = 0; k <= q; k++) sum += p[q, k];
                for (var k = 0; k <= q; k++) p[q, k] /= sum;
            }
        }

        return p;
    }

    private static Bar[] PathTerms() =>
    [
        new("direct: W_U W_E", 0.42),
        new("0.2 → logits", -0.31),
        new("1.1 → logits", 1.85),
        new("0.2 → 1.1 (K) → logits", 3.12),
        new("0.2 → 1.1 (V) → logits", 0.18),
        new("other heads", -0.64),
    ];

    private static Series[] LossCurves()
    {
        double Loss(int step, double offset) =>
            0.55 + offset + 3.6 * Math.Exp(-step / 140.0) + 0.95 / (1 + Math.Exp((step - 900) / 45.0)) * (1 - Math.Exp(-step / 140.0)) + 0.03 * Math.Sin(step / 23.0);
        var steps = Enumerable.Range(0, 121).Select(i => i * 20.0).ToArray();
        return
        [
            new Series("train", steps, [.. steps.Select(s => Loss((int)s, 0))]),
            new Series("test", steps, [.. steps.Select(s => Loss((int)s, 0.06) + 0.01 * Math.Cos(s / 17.0))]),
        ];
    }
}
