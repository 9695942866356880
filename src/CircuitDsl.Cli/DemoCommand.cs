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

            var weights = new Dictionary<Type, IReadOnlyList<SeedWeights>>();
            foreach (var model in models)
            {
                cancel.ThrowIfCancellationRequested();
                var trains = parse.GetValue(train) && model.ComposedFrom() is null;
                weights[model.Type] = trains ? Train(console, output, model, Path.Combine(dir, "models", model.Name), cancel)
                    : model.BundledWeights();
                if (!trains)
                {
                    console.MarkupLine($"  {Markup.Escape(model.Name)}: bundled weights of seeds {string.Join(", ", weights[model.Type].Select(w => w.Seed))} "
                        + $"[dim]{Markup.Escape(Path.GetDirectoryName(weights[model.Type][0].Directory) ?? "")}[/]");
                }
            }

            var (results, views) = SpecChecks.CheckAll(circuits, m => weights[m.Type],
                (circuit, took) => console.MarkupLine(
                    $"  checked {Markup.Escape(circuit.Documentation.Name)} in {took.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s"),
                cancel);
            var unexpected = Verdicts(console, circuits, results.Select(r => r.Seeds).ToList());
            var docs = Path.Combine(dir, "docs");
            SpecChecks.WriteDocs(docs, [.. results.Select(r => (r.Page, r.Report))], views);
            console.MarkupLine($"docs: [link]{Markup.Escape(Path.Combine(docs, DocsSite.HtmlFileName))}[/] and {Markup.Escape(Path.Combine(docs, DocsSite.IndexFileName))}");
            return Task.FromResult(unexpected == 0 ? 0 : 1);
        });
        return command;
    }

    private static IReadOnlyList<SeedWeights> Train(IAnsiConsole console, TextWriter output, ModelEntry model, string dir, CancellationToken cancel)
    {
        var seeds = new List<SeedWeights>();
        foreach (var seed in model.TrainedOn()?.AllSeeds ?? [0])
        {
            var (config, options) = ModelTraining.Recipe(model, seed);
            console.MarkupLine($"  {Markup.Escape(model.Name)}: training seed {seed} on {Markup.Escape(options.Task.Name)} for {options.Steps} steps");
            var folder = Path.Combine(dir, TrainedOnAttribute.SeedFolder(seed));
            ModelFolder.Save(folder, ModelTraining.Run(output, config, options, cancel));
            seeds.Add(new SeedWeights(seed, folder));
        }

        return seeds;
    }

    /// <summary>
    /// Prints every claim's verdict across seeds and a summary that tells the deliberately false claims (a hypothesis
    /// whose summary begins with <c>FALSE:</c>, expected to be measured and fail) from the rest (expected to hold);
    /// returns how many verdicts were not the expected one.
    /// </summary>
    private static int Verdicts(IAnsiConsole console, IReadOnlyList<CircuitEntry> circuits, IReadOnlyList<SeedReport> reports)
    {
        var table = new Spectre.Console.Table().Border(TableBorder.Rounded).Title("[bold]hypotheses, across seeds[/]")
            .AddColumn("circuit").AddColumn("hypothesis").AddColumn("measured")
            .AddColumn(new TableColumn("min").RightAligned()).AddColumn(new TableColumn("median").RightAligned())
            .AddColumn(new TableColumn("max").RightAligned()).AddColumn(new TableColumn("claimed").RightAligned())
            .AddColumn(new TableColumn("holds on").RightAligned()).AddColumn("verdict");
        var surprises = new List<string>();
        var deliberate = 0;
        for (var i = 0; i < reports.Count; i++)
        {
            var report = reports[i];
            foreach (var c in report.Claims)
            {
                var isFalse = circuits[i].Documentation.Hypotheses.Any(h => h.Name == c.Hypothesis && IsDeliberatelyFalse(h));
                deliberate += isFalse ? 1 : 0;
                var expected = c.Verdict == (isFalse ? Verdict.Fails : Verdict.Holds);
                if (!expected)
                {
                    surprises.Add($"{report.Circuit}.{c.Hypothesis}");
                }

                var color = !expected ? "red" : c.Verdict == Verdict.Holds ? "green" : "grey";
                var verdict = ReportText.Mark(c.Verdict) + (isFalse ? " (deliberately false)" : "");
                var first = c.PerSeed[0].Evidence;
                table.AddRow(Markup.Escape(report.Circuit), Markup.Escape(c.Hypothesis), Markup.Escape(first.Unit),
                    Evidence.Format(c.Min), Evidence.Format(c.Median), Evidence.Format(c.Max), ReportText.Claimed(first),
                    $"{c.Holding}/{c.PerSeed.Count} (needs {c.Required})", $"[{color}]{Markup.Escape(verdict)}[/]");
            }
        }

        console.Write(table);
        var all = reports.SelectMany(r => r.Claims).ToList();
        console.MarkupLine($"{all.Count(c => c.Verdict == Verdict.Holds)} hold, {all.Count(c => c.Verdict == Verdict.Fails)} fail, "
            + $"{all.Count(c => c.Verdict == Verdict.NotMeasured)} not measured, each on the seeds it asks for; {deliberate} of the claims "
            + "are deliberately false (their summaries begin \"FALSE:\") and are expected to fail. Induction and other head-detector "
            + "scores are this project's stripe scores (a perfect head scores 1); the induction score is about twice TransformerLens's "
            + "\"mul\" measure (see docs/math.md).");
        console.MarkupLine(surprises.Count == 0
            ? "[green]Every verdict is the expected one.[/]"
            : $"[red]{surprises.Count} unexpected verdict(s):[/] {Markup.Escape(string.Join(", ", surprises))}");
        return surprises.Count;
    }

    private static bool IsDeliberatelyFalse(HypothesisDocumentation hypothesis) =>
        hypothesis.Claim.StartsWith("FALSE:", StringComparison.Ordinal);
}
