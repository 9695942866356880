using System;

namespace CircuitDsl;

/// <summary>
/// The model card of a <see cref="TransformerAttribute"/> spec whose weights were not trained but composed, without a
/// gradient step, from other models' weights (<c>circuitdsl compose</c>, docs/mix-and-match.md): <see cref="Parts"/>
/// are the parents' model specs, in the order they were given, and <see cref="Weights"/> the composite's folder next to
/// the spec assembly. A model has this or <see cref="TrainedOnAttribute"/>, not both. <c>demo --train</c> trains the
/// parents' own specs but checks a composed model on its bundled weights.
/// </summary>
/// <example>
/// <code>
/// [Transformer(NLayers = 2, NHeads = 4, DModel = 128, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true,
///              NormalizationType = Normalization.None)]
/// [ComposedFrom(typeof(Bigram0L), typeof(Induction2LNoLN), Weights = "weights/bigram-plus-induction")]
/// public sealed partial class BigramPlusInduction;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ComposedFromAttribute : Attribute
{
    /// <summary>Weights composed from the models <paramref name="parts"/> (their spec classes), in order.</summary>
    public ComposedFromAttribute(params Type[] parts) => Parts = parts ?? Array.Empty<Type>();

    /// <summary>The parents' spec classes, in the order the composite's parts were given.</summary>
    public Type[] Parts { get; }

    /// <summary>The composite's model folder, relative to the spec assembly's directory.</summary>
    public string Weights { get; set; } = "";

    /// <summary>The absolute path of <see cref="Weights"/> for the spec class <paramref name="model"/>, resolved as <see cref="TrainedOnAttribute.WeightsDirectory(Type)"/> resolves it.</summary>
    public string WeightsDirectory(Type model) => TrainedOnAttribute.Resolve(model, Weights);
}
