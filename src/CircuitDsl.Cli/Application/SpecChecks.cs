using CircuitDsl.Circuits;
using CircuitDsl.Facade;
using CircuitDsl.Docs;
using CircuitDsl.Reports;

namespace CircuitDsl.Cli.Application;

/// <summary>Checking circuit specs on weights and writing their documentation: what <c>docs</c> and <c>demo</c> share.</summary>
internal static class SpecChecks
{
    /// <summary>
    /// Loads the circuit's model from each seed's weights, checks every hypothesis on each, and builds its page: the
    /// claims across seeds, and the first seed's pictures.
    /// </summary>
    public static (Document Page, CircuitReport Report, SeedReport Seeds) Check(CircuitEntry circuit, IReadOnlyList<SeedWeights> weights)
    {
        // The first seed's model stays loaded until every seed is checked: its analysis draws the page's pictures.
        using var first = circuit.Model.Load(weights[0].Directory);
        var reports = new List<CircuitReport> { circuit.CheckAll(first) };
        foreach (var (_, directory) in weights.Skip(1))
        {
            using var model = circuit.Model.Load(directory);
            reports.Add(circuit.CheckAll(model));
        }

        var seeds = new SeedReport(circuit.Documentation, [.. weights.Select(w => w.Seed)], reports);
        var page = CircuitPage.Build(circuit.Documentation, reports[0], first.Analysis, circuit.Model.Rows(weights[0].Directory), seeds);
        return (page, reports[0], seeds);
    }

    /// <summary>
    /// The interactive view of each model with attention layers among <paramref name="circuits"/>' models, on the first
    /// sequence of its detection batch; <paramref name="weights"/> names each model's weights folder.
    /// </summary>
    public static IReadOnlyList<(string Model, Exploration View)> Views(IEnumerable<CircuitEntry> circuits, Func<ModelEntry, string> weights)
    {
        var views = new List<(string, Exploration)>();
        foreach (var entry in circuits.Select(c => c.Model).DistinctBy(m => m.Type))
        {
            using var model = entry.Load(weights(entry));
            if (model.Analysis.Config.NLayers > 0)
            {
                views.Add((entry.Name, Exploration.Compute(model.Analysis.Weights, model.Analysis.DetectionBatch[0])));
            }
        }

        return views;
    }

    /// <summary>Writes the docs site for checked circuits and the models' views; returns the files written.</summary>
    public static IReadOnlyList<string> WriteDocs(
        string directory, IReadOnlyList<(Document Page, CircuitReport Report)> circuits, IReadOnlyList<(string Model, Exploration View)> views) =>
        DocsSite.Write(directory, "Circuits", circuits, views);
}
