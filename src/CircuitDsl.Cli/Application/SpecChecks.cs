using CircuitDsl.Circuits;
using CircuitDsl.Facade;
using CircuitDsl.Docs;
using CircuitDsl.Reports;

namespace CircuitDsl.Cli.Application;

/// <summary>Checking circuit specs on weights and writing their documentation: what <c>docs</c> and <c>demo</c> share.</summary>
internal static class SpecChecks
{
    /// <summary>Loads the circuit's model from <paramref name="weights"/>, checks every hypothesis and builds its page.</summary>
    public static (Document Page, CircuitReport Report) Check(CircuitEntry circuit, string weights)
    {
        using var model = circuit.Model.Load(weights);
        var report = circuit.CheckAll(model);
        var page = CircuitPage.Build(circuit.Documentation, report, model.Analysis, circuit.Model.Rows(weights));
        return (page, report);
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
