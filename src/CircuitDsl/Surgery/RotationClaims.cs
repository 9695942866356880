using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Reports;

namespace CircuitDsl.Surgery;

/// <summary>
/// The evidence for <c>[Rotated]</c> claims. It lives here rather than in <see cref="Hypotheses"/> because rotating a
/// model is surgery, which stands on <c>Circuits</c> (never the other way round).
/// </summary>
public static class RotationClaims
{
    /// <summary>
    /// The relative change of the logits on the detection batch when the model's residual stream (or, with
    /// <paramref name="headBases"/>, its heads' bases; with <paramref name="neurons"/>, its MLP neurons) is rotated as
    /// <see cref="Rotation.Rotate"/> does with <paramref name="seed"/>, against <paramref name="threshold"/>: the largest
    /// absolute logit difference over the largest absolute logit. Measured on the analysis's (processed) weights, whose
    /// logits are the model's.
    /// </summary>
    public static Evidence Rotated(ModelAnalysis analysis, string name, string claim, int seed, bool headBases, bool neurons,
        double threshold, Bound bound)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var what = (headBases ? RotatedBases.HeadBases : RotatedBases.None) | (neurons ? RotatedBases.Neurons : RotatedBases.None);
        if (what == RotatedBases.None)
        {
            what = RotatedBases.ResidualStream;
        }

        var unit = $"relative logit change, {Describe(what)} rotated (seed {seed.ToString(CultureInfo.InvariantCulture)})";
        if (analysis.Unmeasurable is { } why)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, why);
        }

        LogitChange change;
        try
        {
            change = Rotation.Compare(analysis.Weights, Rotation.Rotate(analysis.Weights, what, seed), analysis.DetectionBatch);
        }
        catch (ArgumentException e)
        {
            return Evidence.NotMeasured(name, claim, threshold, bound, unit, e.Message);
        }

        var detail = string.Create(CultureInfo.InvariantCulture,
            $"largest logit change {Evidence.Format(change.MaxAbsDifference)}; loss {Evidence.Format(change.LossBefore)} -> {Evidence.Format(change.LossAfter)} nats on the detection batch.");
        return Evidence.Judge(name, claim, change.Relative, threshold, bound, unit, detail);
    }

    private static string Describe(RotatedBases what) => string.Join(" and ",
        new[] { (RotatedBases.ResidualStream, "residual stream"), (RotatedBases.HeadBases, "head bases"), (RotatedBases.Neurons, "neurons") }
            .Where(p => what.HasFlag(p.Item1)).Select(p => p.Item2));
}
