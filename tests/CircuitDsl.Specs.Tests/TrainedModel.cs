using System.Reflection;
using CircuitDsl.Facade;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// A model spec loaded once per test class from the folder its <see cref="TrainedOnAttribute"/> (or <see cref="ComposedFromAttribute"/>) names (copied next
/// to the spec assembly by the spec project), through the spec's generated <c>Load(directory)</c>.
/// </summary>
public sealed class TrainedModel<TModel> : IDisposable
    where TModel : ITransformerModel<TModel>
{
    public TrainedModel()
    {
        Directory = typeof(TModel).GetCustomAttribute<TrainedOnAttribute>()?.WeightsDirectory(typeof(TModel))
            ?? typeof(TModel).GetCustomAttribute<ComposedFromAttribute>()?.WeightsDirectory(typeof(TModel))
            ?? throw new InvalidOperationException($"{typeof(TModel).Name} has no [TrainedOn] or [ComposedFrom] naming its weights.");
        Model = TModel.Load(Directory);
    }

    /// <summary>The weights folder the model card names, resolved next to the spec assembly.</summary>
    public string Directory { get; }

    public TModel Model { get; }

    public void Dispose() => Model.Dispose();
}
