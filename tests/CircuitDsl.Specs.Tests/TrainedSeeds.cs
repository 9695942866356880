using System.Collections.Concurrent;
using System.Reflection;
using CircuitDsl.Facade;
using CircuitDsl.Reports;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// A model spec loaded once per test class on every seed its <see cref="TrainedOnAttribute"/> lists (a composite's one
/// <see cref="ComposedFromAttribute"/> folder as seed 0), each from its
/// folder (copied next to the spec assembly by the spec project), through the spec's generated <c>Load(directory)</c>.
/// </summary>
public sealed class TrainedSeeds<TModel> : IDisposable
    where TModel : ITransformerModel<TModel>
{
    private readonly ConcurrentDictionary<string, Lazy<SeedReport>> _reports = new();

    public TrainedSeeds()
    {
        if (typeof(TModel).GetCustomAttribute<ComposedFromAttribute>() is { } composed)
        {
            // A composite is made, not trained: its one folder stands for seed 0.
            Seeds = [0];
            Directories = [composed.WeightsDirectory(typeof(TModel))];
        }
        else
        {
            var card = typeof(TModel).GetCustomAttribute<TrainedOnAttribute>()
                ?? throw new InvalidOperationException($"{typeof(TModel).Name} has no [TrainedOn] or [ComposedFrom] naming its weights.");
            Seeds = card.AllSeeds;
            Directories = [.. Seeds.Select(s => card.WeightsDirectory(typeof(TModel), s))];
        }

        Models = [.. Directories.Select(TModel.Load)];
    }

    /// <summary>The seeds the model card lists, in its order.</summary>
    public IReadOnlyList<int> Seeds { get; }

    /// <summary>Each seed's weights folder, resolved next to the spec assembly.</summary>
    public IReadOnlyList<string> Directories { get; }

    /// <summary>Each seed's model.</summary>
    public IReadOnlyList<TModel> Models { get; }

    /// <summary>A circuit's claims checked on every seed, once per fixture (checking runs every held-out measurement again).</summary>
    public SeedReport Check(CircuitDocumentation documentation, Func<TModel, CircuitReport> checkAll) =>
        _reports.GetOrAdd(documentation.Name, _ => new Lazy<SeedReport>(() => new(documentation, Seeds, [.. Models.Select(checkAll)]))).Value;

    public void Dispose()
    {
        foreach (var model in Models)
        {
            model.Dispose();
        }
    }
}
