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

    /// <summary>Writes the docs site for checked circuits; returns the files written.</summary>
    public static IReadOnlyList<string> WriteDocs(string directory, IReadOnlyList<(Document Page, CircuitReport Report)> circuits) =>
        DocsSite.Write(directory, "Circuits", circuits);
}
