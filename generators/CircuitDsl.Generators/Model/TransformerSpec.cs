namespace CircuitDsl.Generators.Model;

/// <summary>The architecture a <c>[Transformer]</c> declares, with the attribute's defaults filled in.</summary>
internal sealed record Architecture(
    int Layers,
    int Heads,
    int DModel,
    int DHead,
    int Vocab,
    int Context,
    int? DMlp,
    bool AttentionOnly,
    Normalization Normalization,
    PositionalEmbedding Positional,
    ActivationFunction ActFn)
{
    public bool HasMlp => !AttentionOnly && Layers > 0;

    public bool Contains(HeadId head) => head.Layer < Layers && head.Head < Heads;
}

/// <summary>A valid <c>[Transformer]</c> class: everything the model emitter needs.</summary>
/// <param name="Namespace">The containing namespace, or null for the global namespace.</param>
/// <param name="Name">The class name.</param>
/// <param name="Architecture">The declared architecture, valid.</param>
internal sealed record TransformerSpec(string? Namespace, string Name, Architecture Architecture)
{
    public string FullName => Namespace is null ? "global::" + Name : "global::" + Namespace + "." + Name;
}
