// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal), so the
// [Patching] claim, the generator's checks and the runtime's sweeps name the patched activations one way.
namespace CircuitDsl;

/// <summary>Which activation a patching sweep patches (docs/math.md, "Activation patching").</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
enum PatchedActivation
{
    /// <summary>The residual stream entering each block, <c>hook_resid_pre</c>, one (layer, position) at a time.</summary>
    ResidPre,

    /// <summary>Each block's attention output, <c>hook_attn_out</c>, one (layer, position) at a time.</summary>
    AttnOut,

    /// <summary>Each block's MLP output, <c>hook_mlp_out</c>, one (layer, position) at a time.</summary>
    MlpOut,

    /// <summary>Each head's output (its <c>hook_z</c>) at every position at once, one (layer, head) at a time.</summary>
    HeadOutput,

    /// <summary>Each head's output (its <c>hook_z</c>) at one position, one (layer, position, head) at a time.</summary>
    HeadOutputByPosition,

    /// <summary>Each head's attention pattern (<c>hook_pattern</c>) at every query position, one (layer, head) at a time.</summary>
    HeadPattern,
}
