using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl inspect</c>: what a model folder holds and what its heads do — detector scores on a batch,
/// copying scores, and Q/K/V composition for every earlier/later pair (docs/math.md defines each number).
/// </summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var raw = new Option<bool>("--raw") { Description = "Measure the weights as stored, without TransformerLens's weight processing." };
        var json = Commands.JsonOption("Print config, heads and every composition score as JSON.");
        var command = new Command("inspect", "Per-head scores and compositions of a model folder.") { dir, raw, json };
        var tokens = TokenInput.AddTo(command, required: false, "Default: seeded repeated random sequences (h + h).");
        command.SetAction(parse =>
        {
            Warmup.Start();
            using var folder = ModelFolder.Load(parse.GetRequiredValue(dir));
            var batch = tokens.Read(parse, folder);

            // The folder is loaded for this analysis alone: process its copy-on-write mapping in place, so the
            // model is held once (a changed page replaces the file's page) rather than mapped and copied.
            var analysis = new ModelAnalysis(folder.Weights,
                parse.GetValue(raw) ? WeightProcessingOptions.None : WeightProcessingOptions.Default, batch,
                Path.GetFileName(folder.Directory), processInPlace: true);
            if (analysis.Unmeasurable is { } why)
            {
                throw new WeightsFormatException(folder.WeightsFile, null, why);
            }

            // Copying and composition scores do not depend on the detection batch: computed beside detection, they
            // use the cores detection leaves idle between its products.
            var weightsOnly = Task.Run(() =>
            {
                _ = analysis.Copying;
                return analysis.Config.NLayers > 1 ? analysis.Composition.Entries().ToList() : [];
            });
            var heads = Heads(analysis);
            var composition = weightsOnly.GetAwaiter().GetResult();
            var parameters = folder.Weights.ToStateDict().Sum(t => (long)t.Value.Length);
            if (parse.GetValue(json))
            {
                Json(output, folder, analysis, heads, composition, parameters, batch is null);
            }
            else
            {
                Table(Commands.Console(output), folder, analysis, heads, composition, parameters);
            }

            return 0;
        });
        return command;
    }

    private sealed record HeadRow(HeadId Head, double PreviousToken, double DuplicateToken, double Induction, double Copying,
        double TlPreviousToken, double TlDuplicateToken, double TlInduction);

    private static List<HeadRow> Heads(ModelAnalysis analysis)
    {
        var rows = new List<HeadRow>();
        var d = analysis.Detectors;
        for (var layer = 0; layer < analysis.Config.NLayers; layer++)
        {
            for (var h = 0; h < analysis.Config.NHeads; h++)
            {
                var head = new HeadId(layer, h);
                rows.Add(new HeadRow(head,
                    d.Score(DetectorKind.PreviousToken, head), d.Score(DetectorKind.DuplicateToken, head),
                    d.Score(DetectorKind.Induction, head), analysis.Copying.Score(head),
                    d.TlMul(DetectorKind.PreviousToken, head), d.TlMul(DetectorKind.DuplicateToken, head),
                    d.TlMul(DetectorKind.Induction, head)));
            }
        }

        return rows;
    }

    /// <summary>
    /// The JSON, indented, written straight from the scores (GPT-2 small's 28,512 composition entries as a tree of nodes
    /// first took a quarter of a second).
    /// </summary>
    private static void Json(TextWriter output, ModelFolder folder, ModelAnalysis analysis, List<HeadRow> heads,
        List<CompositionEntry> composition, long parameters, bool defaultBatch) =>
        Commands.WriteJsonObject(output, writer =>
        {
            writer.WritePropertyName("config");
            JsonSerializer.Serialize(writer, folder.Config);
            writer.WriteNumber("parameters", parameters);
            writer.WriteString("weights", Path.GetFileName(folder.WeightsFile));
            writer.WriteString("weight_processing", analysis.WeightProcessing);
            writer.WriteString("gemm", Gemm.Describe());
            writer.WriteString("detection_batch", defaultBatch
                ? $"default: {analysis.DetectionBatch.Length} seeded h + h sequences (seed {HeadDetector.DefaultBatchSeed})"
                : $"{analysis.DetectionBatch.Length} sequences from --tokens");
            writer.WriteNumber("random_composition_baseline", CompositionScores.RandomBaseline(folder.Config.DModel));
            writer.WriteStartArray("heads");
            foreach (var h in heads)
            {
                writer.WriteStartObject();
                writer.WriteString("head", h.Head.ToString());
                writer.WriteNumber("previous_token", h.PreviousToken);
                writer.WriteNumber("duplicate_token", h.DuplicateToken);
                writer.WriteNumber("induction", h.Induction);
                writer.WriteNumber("copying", h.Copying);
                writer.WriteNumber("tl_mul_previous_token", h.TlPreviousToken);
                writer.WriteNumber("tl_mul_duplicate_token", h.TlDuplicateToken);
                writer.WriteNumber("tl_mul_induction", h.TlInduction);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("composition");
            foreach (var c in composition)
            {
                writer.WriteStartObject();
                writer.WriteString("kind", c.Kind.ToString());
                writer.WriteString("from", c.From.ToString());
                writer.WriteString("to", c.To.ToString());
                writer.WriteNumber("score", c.Score);
                writer.WriteNumber("baseline_units", c.InBaselineUnits);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }, indented: true);

    private static void Table(IAnsiConsole console, ModelFolder folder, ModelAnalysis analysis, List<HeadRow> heads,
        List<CompositionEntry> composition, long parameters)
    {
        var c = folder.Config;
        var model = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(folder.Directory)}[/]")
            .AddColumn("setting").AddColumn("value");
        model.AddRow("layers × heads", $"{c.NLayers} × {c.NHeads}");
        model.AddRow("d_model / d_head", $"{c.DModel} / {c.DHead}");
        model.AddRow("vocabulary / context", $"{c.DVocab} / {c.NCtx}");
        model.AddRow("blocks", c.AttnOnly ? "attention only" : $"attention + MLP (d_mlp {c.DMlp}, {c.ActFn?.ToConfigValue()})");
        model.AddRow("normalization", c.NormalizationType.ToConfigValue() ?? "none");
        model.AddRow("positions", c.PositionalEmbeddingType.ToConfigValue());
        model.AddRow("parameters", parameters.ToString("N0", CultureInfo.InvariantCulture));
        model.AddRow("weights", Markup.Escape(Path.GetFileName(folder.WeightsFile)));
        model.AddRow("measured on", Markup.Escape(analysis.WeightProcessing));
        model.AddRow("gemm backend", Markup.Escape(Gemm.Describe()));
        console.Write(model);
        if (heads.Count == 0)
        {
            return;
        }

        static string Score(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        static string Strong(double v, double at) => v >= at ? $"[bold green]{Score(v)}[/]" : Score(v);
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]heads[/]")
            .AddColumn("head").AddColumn(new TableColumn("previous token").RightAligned())
            .AddColumn(new TableColumn("duplicate token").RightAligned()).AddColumn(new TableColumn("induction").RightAligned())
            .AddColumn(new TableColumn("copying").RightAligned());
        foreach (var h in heads)
        {
            table.AddRow(h.Head.ToString(), Strong(h.PreviousToken, 0.5), Strong(h.DuplicateToken, 0.5),
                Strong(h.Induction, 0.5), Strong(h.Copying, 0.5));
        }

        table.Caption("detector scores: mean attention on the target (0…1); copying: Σλ/Σ|λ| of W_E W_OV W_U (−1…1)");
        console.Write(table);
        if (composition.Count == 0)
        {
            return;
        }

        var strongest = new Table().Border(TableBorder.Rounded).Title("[bold]strongest compositions[/]")
            .AddColumn("kind").AddColumn("from").AddColumn("to").AddColumn(new TableColumn("score").RightAligned())
            .AddColumn(new TableColumn("× random").RightAligned());
        foreach (var e in composition.OrderByDescending(e => e.Score).Take(10))
        {
            strongest.AddRow(e.Kind.ToString(), e.From.ToString(), e.To.ToString(), Score(e.Score),
                e.InBaselineUnits.ToString("F1", CultureInfo.InvariantCulture));
        }

        strongest.Caption($"‖W_OV(from) · R(to)‖ / (‖W_OV‖ ‖R‖); random matrices score about {Score(CompositionScores.RandomBaseline(c.DModel))}");
        console.Write(strongest);
    }
}
