namespace CircuitDsl.Reports;

/// <summary>
/// The result of checking a circuit's hypotheses on one model: every piece of evidence, in the order given, and
/// a stable text rendering (values rounded to 3 decimals) for snapshot tests and review.
/// </summary>
public sealed class CircuitReport
{
    /// <summary>A report of <paramref name="evidence"/> about <paramref name="circuit"/> on <paramref name="model"/>.</summary>
    public CircuitReport(string circuit, string model, string weightProcessing, IEnumerable<Evidence> evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        Circuit = circuit;
        Model = model;
        WeightProcessing = weightProcessing;
        Evidence = evidence.ToList();
    }

    /// <summary>The circuit's name.</summary>
    public string Circuit { get; }

    /// <summary>The model's name.</summary>
    public string Model { get; }

    /// <summary>The weight processing the values were measured after (e.g. <c>fold_ln, …</c> or <c>none</c>).</summary>
    public string WeightProcessing { get; }

    /// <summary>The evidence, one per hypothesis, in the order checked.</summary>
    public IReadOnlyList<Evidence> Evidence { get; }

    /// <summary>Whether every hypothesis holds (not measured counts as not holding).</summary>
    public bool AllHold => Evidence.All(e => e.Verdict == Verdict.Holds);

    /// <summary>The hypotheses that do not hold, by name.</summary>
    public IEnumerable<string> Failing => Evidence.Where(e => e.Verdict != Verdict.Holds).Select(e => e.Hypothesis);

    /// <summary>
    /// The report as text (<see cref="ReportText.Describe(CircuitReport)"/>): a header, then one block per hypothesis with
    /// its verdict, value, threshold, claim, detail and a line per datum. Values are rounded to 3 decimals, so the text is
    /// stable across machines and suitable for snapshot tests.
    /// </summary>
    public string ToText() => ReportText.Describe(this);

    /// <inheritdoc />
    public override string ToString() => ToText();
}
