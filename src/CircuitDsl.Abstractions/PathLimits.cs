// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal), so a generated
// model has a member per head and virtual head exactly when the runtime's path decomposition would list those terms.
namespace CircuitDsl;

/// <summary>How many path terms one path decomposition lists one by one.</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
static class PathLimits
{
    /// <summary>The most terms one decomposition lists; more is refused (ask for a lower order).</summary>
    public const int MaxListedTerms = 4096;
}
