// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal), so the
// generator gives a model path-term members exactly when the runtime's PathExpansion.Create accepts its weights.
using System.Collections.Generic;

namespace CircuitDsl;

/// <summary>
/// Which architectures the path expansion of the logits (Elhage et al. 2021) is exact for: attention-only models of
/// at most two layers, without LayerNorm, with standard positions. The one home of that rule.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
static class PathExpansionSupport
{
    /// <summary>
    /// Why the path expansion does not apply to an architecture, every reason joined by "; " (e.g. <c>it has MLPs; it
    /// has 3 layers (…)</c>); null when it does.
    /// </summary>
    public static string? WhyUnsupported(int nLayers, bool attnOnly, Normalization normalizationType, bool shortformer)
    {
        var problems = new List<string>();
        if (normalizationType != Normalization.None)
        {
            problems.Add($"normalization_type is {normalizationType.ToConfigValue()} (LayerNorm is not linear)");
        }

        if (!attnOnly)
        {
            problems.Add("it has MLPs");
        }

        if (shortformer)
        {
            problems.Add("it uses shortformer positions");
        }

        if (nLayers > 2)
        {
            problems.Add($"it has {nLayers} layers (the expansion here has paths of length at most two)");
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);
    }
}
