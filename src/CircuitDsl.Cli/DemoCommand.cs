using System.CommandLine;
using System.Globalization;
using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;
using CircuitDsl.Facade;
using CircuitDsl.Reports;
using CircuitDsl.Weights;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl demo</c>, the main job on built-in defaults: take the paper's toy models (the bundled weights,
/// or trained afresh with <c>--train</c>), check every bundled circuit spec on them, print every hypothesis with
/// its verdict, and write the documentation.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(TextWriter output)
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the docs (and trained models).", DefaultValueFactory = _ => "circuitdsl-demo" };
        var train = new Option<bool>("--train") { Description = "Train every model from scratch with its spec's recipe instead of using the bundled weights." };
        var command = new Command("demo", "Check the bundled specs of the paper's 0-, 1- and 2-layer models and write their docs.") { outDir, train };
        command.SetAction((parse, cancel) =>
        {
            var dir = Path.GetFullPath(parse.GetRequiredValue(outDir));
            var console = Commands.Console(output);
            var circuits = SpecCatalog.Circuits(SpecCatalog.Bundled);
            var models = circuits.Select(c => c.Model).DistinctBy(m => m.Type).ToList();
            console.MarkupLine($"[bold]CircuitDsl demo[/]: {circuits.Count} circuit specs on {models.Count} models (gemm: {Markup.Escape(Tensors.Gemm.Describe())})");

            var weights = new Dictionary<Type, string>();
            foreach (var model in models)
            {
                cancel.ThrowIfCancellationRequested();
                weights[model.Type] = parse.GetValue(train) ? Train(console, output, model, Path.Combine(dir, "models", model.Name), cancel)
                    : model.BundledWeights();
                if (!parse.GetValue(train))
                {
                    console.MarkupLine($"  {Markup.Escape(model.Name)}: bundled weights [dim]{Markup.Escape(weights[model.Type])}[/]");
                }
            }

            var results = new List<(Document Page, CircuitReport Report)>();
            foreach (var circuit in circuits)
            {
                cancel.ThrowIfCancellationRequested();
                var watch = System.Diagnostics.Stopwatch.StartNew();
                results.Add(SpecChecks.Check(circuit, weights[circuit.Model.Type]));
                console.MarkupLine($"  checked {Markup.Escape(circuit.Documentation.Name)} in {watch.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
            }

            Verdicts(console, results.Select(r => r.Report).ToList());
            var docs = Path.Combine(dir, "docs");
            SpecChecks.WriteDocs(docs, results, SpecChecks.Views(circuits, m => weights[m.Type]));
            console.MarkupLine($"docs: [link]{Markup.Escape(Path.Combine(docs, DocsSite.HtmlFileName))}[/] and {Markup.Escape(Path.Combine(docs, DocsSite.IndexFileName))}");
            return Task.FromResult(0);
        });
        return command;
    }

    private static string Train(IAnsiConsole console, TextWriter output, ModelEntry model, string dir, CancellationToken cancel)
    {
        var (config, options) = ModelTraining.Recipe(model);
        console.MarkupLine($"  {Markup.Escape(model.Name)}: training on {Markup.Escape(options.Task.Name)} for {options.Steps} steps");
        ModelFolder.Save(dir, ModelTraining.Run(output, config, options, cancel));
        return dir;
    }

    private static void Verdicts(IAnsiConsole console, IReadOnlyList<CircuitReport> reports)
    {
        var table = new Spectre.Console.Table().Border(TableBorder.Rounded).Title("[bold]hypotheses[/]")
            .AddColumn("circuit").AddColumn("hypothesis").AddColumn("measured")
            .AddColumn(new TableColumn("value").RightAligned()).AddColumn(new TableColumn("claimed").RightAligned()).AddColumn("verdict");
        foreach (var report in reports)
        {
            foreach (var e in report.Evidence)
            {
                var color = e.Verdict switch
                {
                    Verdict.Holds => "green",
                    Verdict.Fails => "red",
                    _ => "grey",
                };
                table.AddRow(Markup.Escape(report.Circuit), Markup.Escape(e.Hypothesis), Markup.Escape(e.Unit),
                    Evidence.Format(e.Measured), ReportText.Claimed(e), $"[{color}]{ReportText.Mark(e.Verdict)}[/]");
            }
        }

        console.Write(table);
        var all = reports.SelectMany(r => r.Evidence).ToList();
        console.MarkupLine($"{all.Count(e => e.Verdict == Verdict.Holds)} hold, {all.Count(e => e.Verdict == Verdict.Fails)} fail, "
            + $"{all.Count(e => e.Verdict == Verdict.NotMeasured)} not measured.");
    }
}
