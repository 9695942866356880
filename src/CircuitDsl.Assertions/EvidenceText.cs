using System.Globalization;
using System.Text;
using CircuitDsl.Reports;
using CircuitDsl.Tensors;

namespace CircuitDsl.Assertions;

/// <summary>
/// How a failure message shows one piece of evidence: the hypothesis, its verdict, the measured value against the
/// threshold and comparison, the claim, the detail and the data behind it (small tensors in full, large ones by
/// shape and range).
/// </summary>
public static class EvidenceText
{
    /// <summary>Tensors with at most this many elements are printed in full; larger ones by shape, minimum and maximum.</summary>
    public const int MaxPrintedElements = 16;

    /// <summary>
    /// <paramref name="evidence"/> as an indented block, e.g.
    /// <c>PreviousToken [Fails]: previous-token score of 0.2 = 0.523, claimed &gt;= 0.700 (0.177 short)</c>
    /// followed by the claim, the detail and one line per datum.
    /// </summary>
    public static string Describe(Evidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var sb = new StringBuilder();
        sb.Append(evidence.Hypothesis).Append(" [").Append(evidence.Verdict).Append("]: ").Append(evidence.Unit)
            .Append(" = ").Append(Evidence.Format(evidence.Measured))
            .Append(", claimed ").Append(evidence.Comparison == Bound.AtLeast ? ">= " : "<= ")
            .Append(Evidence.Format(evidence.Threshold));
        if (evidence.Verdict == Verdict.Fails)
        {
            var gap = Math.Abs(evidence.Measured - evidence.Threshold);
            sb.Append(" (").Append(Evidence.Format(gap)).Append(evidence.Comparison == Bound.AtLeast ? " short)" : " over)");
        }

        sb.Append('\n');
        if (evidence.Claim.Length > 0)
        {
            sb.Append("    claim: ").Append(evidence.Claim).Append('\n');
        }

        if (evidence.Detail.Length > 0)
        {
            sb.Append("    detail: ").Append(evidence.Detail).Append('\n');
        }

        foreach (var (name, tensor) in evidence.Data.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append("    data ").Append(name).Append(' ').Append(Tensor.FormatShape(tensor.Shape)).Append(": ")
                .Append(Values(tensor)).Append('\n');
        }

        return sb.ToString();
    }

    private static string Values(Tensor tensor)
    {
        var span = tensor.Span;
        if (span.Length <= MaxPrintedElements)
        {
            var values = new string[span.Length];
            for (var i = 0; i < span.Length; i++)
            {
                values[i] = Evidence.Format(span[i]);
            }

            return "[" + string.Join(", ", values) + "]";
        }

        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in span)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{span.Length} values in [{Evidence.Format(min)}, {Evidence.Format(max)}]");
    }
}
