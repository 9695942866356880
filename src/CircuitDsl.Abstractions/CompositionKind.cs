// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal).
namespace CircuitDsl;

/// <summary>
/// Which input of a later head reads what an earlier head wrote into the residual stream (Elhage et al. 2021,
/// "Composition"): its queries, its keys or its values.
/// </summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum CompositionKind
{
    /// <summary>Q-composition: the later head's queries read the earlier head's output (<c>W_QK</c> on the left).</summary>
    Q,

    /// <summary>K-composition: the later head's keys read the earlier head's output (<c>W_QK</c> transposed); induction heads.</summary>
    K,

    /// <summary>V-composition: the later head's values read the earlier head's output (<c>W_OV</c>); virtual attention heads.</summary>
    V,
}
