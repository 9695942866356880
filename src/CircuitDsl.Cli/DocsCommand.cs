using System.CommandLine;
using System.Reflection;
using CircuitDsl.Docs;
using CircuitDsl.Reports;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl docs</c>: checks the circuit specs of spec assemblies on their models' weights and writes the
/// documentation: a Markdown page per circuit with SVG pictures, an index, and one self-contained HTML page.
/// </summary>
internal static class DocsCommand
{
    /// <summary>The specs that ship with the tool: the paper's models and hypotheses.</summary>
    public static Assembly BundledSpecs => typeof(CircuitDsl.Specs.SpecsAssembly).Assembly;

    public static Command Create(TextWriter output)
    {
        var specs = new Option<string[]>("--specs")
        {
            Description = "Spec assemblies (.dll) to document; default: the specs bundled with circuitdsl.",
            AllowMultipleArgumentsPerToken = true,
        };
        var outDir = new Option<string>("--out") { Description = "Folder to write the docs to.", DefaultValueFactory = _ => "circuitdsl-docs" };
        var command = new Command("docs", "Check circuit specs and write their documentation (Markdown + SVG, and one HTML page).") { specs, outDir };
        command.SetAction(parse =>
        {
            var assemblies = parse.GetValue(specs) is { Length: > 0 } paths
                ? paths.Select(SpecCatalog.LoadAssembly).ToList()
                : [BundledSpecs];
            var circuits = assemblies.SelectMany(SpecCatalog.Circuits).ToList();
            if (circuits.Count == 0)
            {
                throw new UsageException($"no [Circuit] specs in {string.Join(", ", assemblies.Select(a => a.GetName().Name))}.");
            }

            var checkedCircuits = circuits.Select(c => Check(c, c.Model.BundledWeights
                ?? throw new UsageException($"{c.Model.Name} has no [TrainedOn(..., Weights = \"...\")]: where are its weights?"))).ToList();
            var files = Write(parse.GetRequiredValue(outDir), checkedCircuits);
            output.WriteLine($"wrote {files.Count} files to {Path.GetFullPath(parse.GetRequiredValue(outDir))}: {DocsSite.IndexFileName}, {DocsSite.HtmlFileName}, a page per circuit");
            return 0;
        });
        return command;
    }

    /// <summary>Loads the circuit's model from <paramref name="weights"/>, checks every hypothesis and builds its page.</summary>
    public static (Document Page, CircuitReport Report) Check(CircuitSpec circuit, string weights)
    {
        using var model = circuit.Model.Load(weights);
        var report = circuit.CheckAll(model);
        var page = CircuitPage.Build(circuit.Documentation, report, ModelSpec.Analysis(model), circuit.Model.Card(weights));
        return (page, report);
    }

    /// <summary>Writes the docs site for checked circuits.</summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<(Document Page, CircuitReport Report)> circuits) =>
        DocsSite.Write(directory, "Circuits", circuits);
}
