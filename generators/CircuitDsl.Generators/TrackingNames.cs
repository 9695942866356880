namespace CircuitDsl.Generators;

/// <summary>The names of the pipeline's steps, so tests can check which steps an edit re-ran.</summary>
public static class TrackingNames
{
    /// <summary>Each <c>[Transformer]</c> class parsed into a spec and its diagnostics.</summary>
    public const string TransformerResults = nameof(TransformerResults);

    /// <summary>The emittable model specs.</summary>
    public const string TransformerSpecs = nameof(TransformerSpecs);

    /// <summary>Each <c>[Circuit]</c> class parsed into a spec and its diagnostics.</summary>
    public const string CircuitResults = nameof(CircuitResults);

    /// <summary>The emittable circuit specs.</summary>
    public const string CircuitSpecs = nameof(CircuitSpecs);

    /// <summary>The names of every emittable model and circuit, which the assembly's spec registry lists.</summary>
    public const string Registry = nameof(Registry);

    /// <summary>Each hypothesis method checked for a <c>[Circuit]</c> around it.</summary>
    public const string StrayHypotheses = nameof(StrayHypotheses);

    /// <summary>Every diagnostic, as data.</summary>
    public const string Diagnostics = nameof(Diagnostics);
}
