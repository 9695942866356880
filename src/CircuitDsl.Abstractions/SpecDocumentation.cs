namespace CircuitDsl;

/// <summary>
/// A circuit spec as data, for generated documentation: what the researcher wrote, with the prose from the
/// XML doc comments. The source generator emits one as the <c>Documentation</c> property of each circuit class.
/// </summary>
public sealed class CircuitDocumentation
{
    /// <summary>A circuit's documentation.</summary>
    public CircuitDocumentation(string name, string model, string summary, string? paper,
        IReadOnlyList<HypothesisDocumentation> hypotheses)
    {
        Name = name;
        Model = model;
        Summary = summary;
        Paper = paper;
        Hypotheses = hypotheses;
    }

    /// <summary>The circuit class's name.</summary>
    public string Name { get; }

    /// <summary>The name of the model class the circuit is about.</summary>
    public string Model { get; }

    /// <summary>The circuit class's XML doc summary (empty when it has none).</summary>
    public string Summary { get; }

    /// <summary>The paper section given by <see cref="CircuitAttribute.Paper"/>, if any.</summary>
    public string? Paper { get; }

    /// <summary>The hypotheses, in declaration order.</summary>
    public IReadOnlyList<HypothesisDocumentation> Hypotheses { get; }
}

/// <summary>One hypothesis of a circuit spec as data.</summary>
public sealed class HypothesisDocumentation
{
    /// <summary>A hypothesis's documentation.</summary>
    public HypothesisDocumentation(string name, string kind, string claim, IReadOnlyList<HeadId> heads,
        IReadOnlyList<KeyValuePair<string, string>> arguments, string? paper, int onSeeds = 0)
    {
        OnSeeds = onSeeds;
        Name = name;
        Kind = kind;
        Claim = claim;
        Heads = heads;
        Arguments = arguments;
        Paper = paper;
    }

    /// <summary>The method's name, which names the hypothesis in reports.</summary>
    public string Name { get; }

    /// <summary>The attribute, without its <c>Attribute</c> suffix: <c>PreviousTokenHead</c>, <c>Composes</c>, ….</summary>
    public string Kind { get; }

    /// <summary>The method's XML doc summary: the claim in prose (empty when it has none).</summary>
    public string Claim { get; }

    /// <summary>Every head the claim is about; for composition, the later head and then the earlier one.</summary>
    public IReadOnlyList<HeadId> Heads { get; }

    /// <summary>The attribute's arguments by name (<c>Head</c>, <c>AtLeast</c>, <c>Via</c>, …) with their values as text (<c>"0.2"</c>, <c>"0.8"</c>, <c>"K"</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Arguments { get; }

    /// <summary>The paper section given by <see cref="HypothesisAttribute.Paper"/>, if any.</summary>
    public string? Paper { get; }

    /// <summary>On how many of the model's training seeds the claim must hold (<see cref="HypothesisAttribute.OnSeeds"/>); 0 for every seed.</summary>
    public int OnSeeds { get; }
}
