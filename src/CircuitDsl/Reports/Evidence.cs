using System.Globalization;

namespace CircuitDsl.Reports;

/// <summary>The outcome of checking one hypothesis.</summary>
public enum Verdict
{
    /// <summary>The measured value is on the claimed side of the threshold.</summary>
    Holds,

    /// <summary>The measured value is on the wrong side of the threshold.</summary>
    Fails,

    /// <summary>No meaningful value could be measured; <see cref="Evidence.Detail"/> says why.</summary>
    NotMeasured,
}

/// <summary>Which side of its threshold a claimed value must be on.</summary>
public enum Bound
{
    /// <summary>The value must be at least the threshold.</summary>
    AtLeast,

    /// <summary>The value must be at most the threshold.</summary>
    AtMost,
}

/// <summary>What checking one hypothesis found: the value, the threshold, the verdict and the data behind it.</summary>
/// <param name="Hypothesis">The hypothesis's name (the spec's member name).</param>
/// <param name="Claim">The claim in prose (the spec's doc comment).</param>
/// <param name="Measured">The measured value; NaN when <see cref="Verdict.NotMeasured"/>.</param>
/// <param name="Threshold">The threshold the claim sets.</param>
/// <param name="Comparison">Whether the value must be at least or at most <paramref name="Threshold"/>.</param>
/// <param name="Unit">What the value measures, e.g. <c>previous-token score</c>.</param>
/// <param name="Verdict">Holds, fails, or not measured.</param>
/// <param name="Detail">Context: companion values (TransformerLens's measure), or why nothing was measured.</param>
/// <param name="Data">What the value was measured from (a head's pattern, eigenvalues, losses), one record per kind.</param>
public sealed record Evidence(
    string Hypothesis,
    string Claim,
    double Measured,
    double Threshold,
    Bound Comparison,
    string Unit,
    Verdict Verdict,
    string Detail,
    IReadOnlyList<EvidenceData> Data)
{
    /// <summary>
    /// The standard error of <see cref="Measured"/> when it is an estimate from sampled data (a loss on held-out
    /// sequences); NaN for values computed exactly from the weights or from a fixed batch.
    /// </summary>
    public double StandardError { get; init; } = double.NaN;

    /// <summary>
    /// Whether the value is within noise of its threshold: measured and less than two standard errors from it, so
    /// another sample of the same size could well give the other verdict.
    /// </summary>
    public bool WithinNoise => Verdict != Verdict.NotMeasured && double.IsFinite(StandardError) && Math.Abs(Measured - Threshold) < 2 * StandardError;

    /// <summary>Evidence for a measured value, with the verdict decided by the threshold (NaN or ∞ → not measured).</summary>
    public static Evidence Judge(
        string hypothesis, string claim, double measured, double threshold, Bound comparison, string unit,
        string detail = "", IReadOnlyList<EvidenceData>? data = null)
    {
        if (!double.IsFinite(measured))
        {
            return NotMeasured(hypothesis, claim, threshold, comparison, unit,
                $"the measurement gave {Format(measured)}" + (detail.Length > 0 ? "; " + detail : "."), data);
        }

        var holds = comparison == Bound.AtLeast ? measured >= threshold : measured <= threshold;
        return new Evidence(hypothesis, claim, measured, threshold, comparison, unit, holds ? Verdict.Holds : Verdict.Fails,
            detail, data ?? []);
    }

    /// <summary>Evidence that nothing meaningful could be measured, and why.</summary>
    public static Evidence NotMeasured(
        string hypothesis, string claim, double threshold, Bound comparison, string unit, string reason,
        IReadOnlyList<EvidenceData>? data = null) =>
        new(hypothesis, claim, double.NaN, threshold, comparison, unit, Verdict.NotMeasured, reason, data ?? []);

    /// <summary>A value rounded to 3 decimals, invariant culture, without a negative zero; NaN and ∞ by name.</summary>
    public static string Format(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+inf" : "-inf";
        }

        var rounded = Math.Round(value, 3, MidpointRounding.AwayFromZero);
        return (rounded == 0 ? 0 : rounded).ToString("0.000", CultureInfo.InvariantCulture);
    }
}
