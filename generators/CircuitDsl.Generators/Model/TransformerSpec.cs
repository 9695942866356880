namespace CircuitDsl.Generators.Model;

/// <summary>The architecture a <c>[Transformer]</c> declares, with the attribute's defaults filled in, under its (and <c>ModelConfig</c>'s) names.</summary>
internal sealed record Architecture(
    int NLayers,
    int NHeads,
    int DModel,
    int DHead,
    int DVocab,
    int NCtx,
    int? DMlp,
    bool AttnOnly,
    Normalization NormalizationType,
    PositionalEmbedding PositionalEmbeddingType,
    ActivationFunction ActFn)
{
    public bool HasMlp => !AttnOnly && NLayers > 0;

    public bool Contains(HeadId head) => head.Layer < NLayers && (head.Role is not null || head.Head < NHeads);
}

/// <summary>A valid <c>[Transformer]</c> class: everything the model emitter needs.</summary>
/// <param name="Namespace">The containing namespace, or null for the global namespace.</param>
/// <param name="Name">The class name.</param>
/// <param name="Architecture">The declared architecture, valid.</param>
internal sealed record TransformerSpec(string? Namespace, string Name, Architecture Architecture)
{
    public string FullName => Namespace is null ? "global::" + Name : "global::" + Namespace + "." + Name;
}
