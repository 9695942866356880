using CircuitDsl.Circuits;
using CircuitDsl.Facade;
using CircuitDsl.Docs;
using CircuitDsl.Reports;

namespace CircuitDsl.Cli.Application;

/// <summary>Checking circuit specs on weights and writing their documentation: what <c>docs</c> and <c>demo</c> share.</summary>
internal static class SpecChecks
{
    /// <summary>
    /// Checks each circuit (<see cref="Check"/>) and gathers the interactive view of each model with attention layers
    /// among their models, on the first sequence of its detection batch, from the first seed's model already loaded for
    /// the check; <paramref name="checkedOne"/> hears of each circuit checked and how long it took.
    /// </summary>
    public static (IReadOnlyList<(Document Page, CircuitReport Report, SeedReport Seeds)> Circuits, IReadOnlyList<(string Model, Exploration View)> Views)
        CheckAll(IReadOnlyList<CircuitEntry> circuits, Func<ModelEntry, IReadOnlyList<SeedWeights>> weights,
            Action<CircuitEntry, TimeSpan>? checkedOne = null, CancellationToken cancel = default)
    {
        var results = new List<(Document, CircuitReport, SeedReport)>();
        var views = new List<(string, Exploration)>();
        var viewed = new HashSet<Type>();
        foreach (var circuit in circuits)
        {
            cancel.ThrowIfCancellationRequested();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (page, report, seeds, view) = Check(circuit, weights(circuit.Model), withView: viewed.Add(circuit.Model.Type));
            results.Add((page, report, seeds));
            if (view is not null)
            {
                views.Add((circuit.Model.Name, view));
            }

            checkedOne?.Invoke(circuit, watch.Elapsed);
        }

        return (results, views);
    }

    /// <summary>
    /// Loads the circuit's model from each seed's weights, checks every hypothesis on each, and builds its page: the
    /// claims across seeds, and the first seed's pictures; <paramref name="withView"/>, also the first seed's
    /// interactive view when the model has attention layers.
    /// </summary>
    private static (Document Page, CircuitReport Report, SeedReport Seeds, Exploration? View) Check(
        CircuitEntry circuit, IReadOnlyList<SeedWeights> weights, bool withView)
    {
        // The first seed's model stays loaded until every seed is checked: its analysis draws the page's pictures and view.
        using var first = circuit.Model.Load(weights[0].Directory);
        var reports = new List<CircuitReport> { circuit.CheckAll(first) };
        foreach (var (_, directory) in weights.Skip(1))
        {
            using var model = circuit.Model.Load(directory);
            reports.Add(circuit.CheckAll(model));
        }

        var seeds = new SeedReport(circuit.Documentation, [.. weights.Select(w => w.Seed)], reports);
        var page = CircuitPage.Build(circuit.Documentation, reports[0], first.Analysis, circuit.Model.Rows(weights[0].Directory), seeds);
        var view = withView && first.Analysis.Config.NLayers > 0
            ? Exploration.Compute(first.Analysis.Weights, first.Analysis.DetectionBatch[0])
            : null;
        return (page, reports[0], seeds, view);
    }

    /// <summary>Writes the docs site for checked circuits and the models' views; returns the files written.</summary>
    public static IReadOnlyList<string> WriteDocs(
        string directory, IReadOnlyList<(Document Page, CircuitReport Report)> circuits, IReadOnlyList<(string Model, Exploration View)> views) =>
        DocsSite.Write(directory, "Circuits", circuits, views);
}
