using System.CommandLine;
using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl docs</c>: checks the circuit specs of spec assemblies on their models' weights and writes the
/// documentation: a Markdown page per circuit with SVG pictures, an index, and one self-contained HTML page.
/// </summary>
internal static class DocsCommand
{
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
                : [SpecCatalog.Bundled];
            var circuits = assemblies.SelectMany(SpecCatalog.Circuits).ToList();
            if (circuits.Count == 0)
            {
                throw new UsageException($"no [Circuit] specs in {string.Join(", ", assemblies.Select(a => a.GetName().Name))}.");
            }

            var (checkedCircuits, views) = SpecChecks.CheckAll(circuits, m => m.BundledWeights());
            var files = SpecChecks.WriteDocs(parse.GetRequiredValue(outDir), [.. checkedCircuits.Select(r => (r.Page, r.Report))], views);
            output.WriteLine($"wrote {files.Count} files to {Path.GetFullPath(parse.GetRequiredValue(outDir))}: {DocsSite.IndexFileName}, {DocsSite.HtmlFileName}, a page per circuit");
            return 0;
        });
        return command;
    }
}
