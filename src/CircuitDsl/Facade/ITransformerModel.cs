using CircuitDsl.Circuits;
using CircuitDsl.Model;

namespace CircuitDsl.Facade;

/// <summary>
/// A loaded <c>[Transformer]</c> model, whatever its architecture: its weights and their circuit analysis. Dispose it
/// to release the model folder it was loaded from. Code that knows the model class uses
/// <see cref="ITransformerModel{TSelf}"/> instead.
/// </summary>
public interface ITransformerModel : IDisposable
{
    /// <summary>The weights, under TransformerLens names.</summary>
    TransformerWeights Weights { get; }

    /// <summary>Circuit analysis of <see cref="Weights"/>, which the circuits' hypotheses are checked against.</summary>
    ModelAnalysis Analysis { get; }
}

/// <summary>
/// What the source generator gives every <c>[Transformer]</c> class <typeparamref name="TSelf"/>: its declared
/// architecture, and loading weights checked against it. Generic code reaches a model class through these static
/// members (<c>TModel.Load(directory)</c>) rather than by name.
/// </summary>
/// <typeparam name="TSelf">The model class itself.</typeparam>
public interface ITransformerModel<TSelf> : ITransformerModel
    where TSelf : ITransformerModel<TSelf>
{
    /// <summary>The architecture the class declares, as a TransformerLens config.</summary>
    static abstract ModelConfig Config { get; }

    /// <summary>Loads a model folder whose config is the declared architecture.</summary>
    /// <exception cref="WeightsFormatException">The folder cannot be read, or its config differs from the declaration.</exception>
    static abstract TSelf Load(string directory);

    /// <summary>Wraps weights whose config is the declared architecture.</summary>
    /// <exception cref="ArgumentException">The weights' config differs from the declaration.</exception>
    static abstract TSelf FromWeights(TransformerWeights weights);
}
