using System.Reflection;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// A model spec loaded once per test class from the folder its <see cref="TrainedOnAttribute"/> names (copied next
/// to the spec assembly by the spec project), through the spec's generated <c>Load(directory)</c>.
/// </summary>
public sealed class TrainedModel<TModel> : IDisposable
    where TModel : class, IDisposable
{
    public TrainedModel()
    {
        var card = typeof(TModel).GetCustomAttribute<TrainedOnAttribute>()
            ?? throw new InvalidOperationException($"{typeof(TModel).Name} has no [TrainedOn] naming its weights.");
        Directory = card.WeightsDirectory(typeof(TModel));
        var load = typeof(TModel).GetMethod("Load", BindingFlags.Public | BindingFlags.Static, [typeof(string)])
            ?? throw new InvalidOperationException($"{typeof(TModel).Name} has no generated Load(string).");
        try
        {
            Model = (TModel)load.Invoke(null, [Directory])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            // Fail with the loader's own message, which names the folder or file it expected.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    /// <summary>The weights folder the model card names, resolved next to the spec assembly.</summary>
    public string Directory { get; }

    public TModel Model { get; }

    public void Dispose() => Model.Dispose();
}
