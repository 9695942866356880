namespace CircuitDsl.Generators.Model;

/// <summary>
/// What parsing one spec gives: the model to emit (null when the spec cannot be emitted) and the diagnostics
/// to report. Both are values, so an unchanged spec is recognised as unchanged.
/// </summary>
internal sealed record SpecResult<T>(T? Value, EquatableArray<DiagnosticInfo> Diagnostics)
    where T : class, IEquatable<T>;
