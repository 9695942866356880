using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
using CircuitDsl.Surgery;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl extract</c>: a circuit (heads, optionally MLPs) carved out into a standalone model folder, the rest
/// mean-ablated over a tokens file and folded into the biases (docs/mix-and-match.md, "Extraction").
/// </summary>
internal static class ExtractCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var heads = new Option<string>("--heads") { Description = "The heads to keep, as layer.head, comma-separated: 0.2,1.3.", Required = true };
        var mlps = new Option<string?>("--mlps")
        {
            Description = "The layers whose MLP to keep, comma-separated (0,1), or none; without it every MLP is kept.",
        };
        var outDir = new Option<string>("--out") { Description = "The model folder to write (not DIR).", Required = true };
        var json = Commands.JsonOption(
            "Print {\"faithfulness\", \"loss_full\", \"loss_extracted\", \"loss_ablated\", \"tokens\", \"n_heads\", \"heads\": {old: new}, \"mlps\", \"out\"}.");
        var command = new Command("extract", "Carve a circuit out of a model into a standalone model folder, and report how much of the loss it recovers.")
        {
            dir, heads, mlps, outDir, json,
        };
        var tokens = TokenInput.AddTo(command, required: true,
            "Removed parts write their mean output over every position of every sequence, and the losses are measured on them.");
        command.SetAction(parse =>
        {
            var input = parse.GetRequiredValue(dir);
            var target = parse.GetRequiredValue(outDir);
            DerivedModel.RequireDistinct(input, target);
            var circuit = DerivedModel.ParseHeads("--heads", parse.GetRequiredValue(heads));
            var keptMlps = ParseMlps(parse.GetValue(mlps));
            using var folder = Commands.LoadFinite(input, tokens.HasText(parse));
            var batch = tokens.Read(parse, folder)!;
            if (batch[0].Length < 2)
            {
                throw new UsageException("sequences of one token predict nothing, so no loss can be measured.");
            }

            var extracted = Extraction.Extract(new HookedTransformer(folder.Weights), circuit, keptMlps, batch);
            ModelFolder.Save(target, extracted.Circuit.Weights);
            var predicted = batch.Length * (batch[0].Length - 1);
            if (parse.GetValue(json))
            {
                Commands.WriteJsonObject(output, writer => Json(writer, extracted, predicted, target));
            }
            else
            {
                output.WriteLine(Text(extracted, predicted, target));
            }

            return 0;
        });
        return command;
    }

    private static int[]? ParseMlps(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        var layers = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var layer))
            {
                throw new UsageException($"--mlps: '{part}' is not a layer number; write the layers whose MLP to keep, like 0,1, or none.");
            }

            if (layers.Contains(layer))
            {
                throw new UsageException($"--mlps: MLP {layer} is listed twice.");
            }

            layers.Add(layer);
        }

        return [.. layers];
    }

    private static void Json(Utf8JsonWriter writer, Extracted extracted, int predicted, string target)
    {
        var losses = extracted.Losses;
        Commands.WriteNumberOrNull(writer, "faithfulness", losses.Fraction);
        writer.WriteNumber("loss_full", losses.Full);
        writer.WriteNumber("loss_extracted", losses.Circuit);
        writer.WriteNumber("loss_ablated", losses.AblateAll);
        writer.WriteNumber("tokens", predicted);
        writer.WriteNumber("n_heads", extracted.Circuit.Weights.Config.NHeads);
        writer.WriteStartObject("heads");
        foreach (var (from, to) in extracted.Circuit.HeadMap.OrderBy(kv => kv.Key.Layer).ThenBy(kv => kv.Key.Head))
        {
            writer.WriteString(from.ToString(), to.ToString());
        }

        writer.WriteEndObject();
        writer.WriteStartArray("mlps");
        foreach (var layer in extracted.Mlps)
        {
            writer.WriteNumberValue(layer);
        }

        writer.WriteEndArray();
        writer.WriteString("out", target);
    }

    private static string Text(Extracted extracted, int predicted, string target)
    {
        var l = extracted.Losses;
        var map = string.Join(", ", extracted.Circuit.HeadMap.OrderBy(kv => kv.Key.Layer).ThenBy(kv => kv.Key.Head).Select(kv => $"{kv.Key} -> {kv.Value}"));
        var faithfulness = double.IsFinite(l.Fraction)
            ? l.Fraction.ToString("P1", CultureInfo.InvariantCulture)
            : "not measured (ablating everything does not change the loss)";
        return string.Create(CultureInfo.InvariantCulture, $"""
            wrote {target}: {extracted.Circuit.Weights.Config.NHeads} head slot(s) per layer; heads {map}; MLPs kept: {(extracted.Mlps.Count == 0 ? "none" : string.Join(", ", extracted.Mlps))}
            faithfulness (fraction of loss recovered) {faithfulness}
            loss over {predicted} predicted tokens: full model {l.Full:F4}, extracted {l.Circuit:F4}, everything mean-ablated {l.AblateAll:F4} nats/token
            """);
    }
}
