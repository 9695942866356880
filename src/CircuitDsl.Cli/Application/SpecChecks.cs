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

    /// <summary>Writes the docs site for checked circuits; returns the files written.</summary>
    public static IReadOnlyList<string> WriteDocs(string directory, IReadOnlyList<(Document Page, CircuitReport Report)> circuits) =>
        DocsSite.Write(directory, "Circuits", circuits);
}
