using System.CommandLine;
using System.Globalization;
using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;
using CircuitDsl.Model;
using CircuitDsl.Patching;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl patch</c>: activation patching from a clean into a corrupted input (docs/math.md, "Activation
/// patching"): the normalised logit difference with each layer × position (or layer × head) patched.
/// </summary>
internal static class PatchCommand
{
    private static readonly Dictionary<string, PatchedActivation> Targets = new(StringComparer.Ordinal)
    {
        ["resid_pre"] = PatchedActivation.ResidPre,
        ["attn_out"] = PatchedActivation.AttnOut,
        ["mlp_out"] = PatchedActivation.MlpOut,
        ["heads"] = PatchedActivation.HeadOutput,
    };

    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var clean = new Option<string>("--clean-tokens") { Description = "JSON tokens file of the clean input (the run that gets the answer right)." };
        var corrupted = new Option<string>("--corrupted-tokens")
        {
            Description = "JSON tokens file of the corrupted input: as many sequences and positions as the clean one.",
        };
        var cleanText = new Option<string>("--clean") { Description = "The clean input as text, tokenized with the model's tokenizer." };
        var corruptedText = new Option<string>("--corrupted") { Description = "The corrupted input as text: as many tokens as the clean one." };
        var noBos = new Option<bool>("--no-prepend-bos") { Description = "Do not put the BOS token before --clean and --corrupted (by default it is prepended, as TransformerLens does)." };
        var answer = new Option<string>("--answer") { Description = "The answer token at the last position: an id, or a text that is one token (\" Mary\").", Required = true };
        var wrong = new Option<string>("--wrong") { Description = "The wrong token the answer is compared with: an id, or a text that is one token.", Required = true };
        var what = new Option<string>("--what")
        {
            Description = "What to patch: resid_pre, attn_out, mlp_out (by layer × position) or heads (each head's output, by layer × head).",
            DefaultValueFactory = _ => "resid_pre",
        };
        var svg = new Option<string?>("--svg") { Description = "Also write the result as an SVG heatmap to this file." };
        var json = Commands.JsonOption(
            "Print {\"what\", \"metric\": {\"clean\", \"corrupted\"}, \"patched\": [[…]]} indexed [layer][position] ([layer][head] for heads).");
        var command = new Command("patch", "Activation patching: how much of the clean run's logit difference each activation restores.")
        {
            dir, clean, corrupted, cleanText, corruptedText, noBos, answer, wrong, what, svg, json,
        };
        command.SetAction(parse =>
        {
            var (files, texts) = ((parse.GetValue(clean), parse.GetValue(corrupted)), (parse.GetValue(cleanText), parse.GetValue(corruptedText)));
            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir), texts is not (null, null));
            var text = new FolderTokenizer(folder);
            int[][] cleanTokens, corruptedTokens;
            if (files is ({ } cleanFile, { } corruptedFile) && texts is (null, null))
            {
                (cleanTokens, corruptedTokens) = (TokensFile.Read(cleanFile, folder.Config), TokensFile.Read(corruptedFile, folder.Config));
            }
            else if (texts is ({ } cleanInput, { } corruptedInput) && files is (null, null))
            {
                var bos = !parse.GetValue(noBos);
                cleanTokens = TokenInput.Encode(text, [(cleanInput, "--clean")], bos);
                corruptedTokens = TokenInput.Encode(text, [(corruptedInput, "--corrupted")], bos);
            }
            else
            {
                throw new UsageException("give the inputs as one pair: --clean TEXT --corrupted TEXT, or --clean-tokens FILE --corrupted-tokens FILE.");
            }

            var name = parse.GetRequiredValue(what);
            if (!Targets.ContainsKey(name))
            {
                throw new UsageException($"--what {name}: expected one of {string.Join(", ", Targets.Keys)}.");
            }

            var patching = ActivationPatching.Prepare(
                new HookedTransformer(folder.Weights), cleanTokens, corruptedTokens,
                text.TokenId("--answer", parse.GetRequiredValue(answer)), text.TokenId("--wrong", parse.GetRequiredValue(wrong)));
            var result = patching.Sweep(Targets[name]);
            var columnName = Targets[name] == PatchedActivation.HeadOutput ? "head" : "pos";
            var columns = Enumerable.Range(0, result.Dim(1)).Select(i => $"{columnName} {i}").ToList();
            var rows = Enumerable.Range(0, result.Dim(0)).Select(l => $"layer {l}").ToList();
            if (parse.GetValue(svg) is { } svgPath)
            {
                File.WriteAllText(svgPath, Svg.Heatmap($"Patching {name}: normalised logit difference", result, rows, columns,
                    new HeatmapOptions { RowAxisLabel = "layer", ColumnAxisLabel = columnName == "head" ? "head" : "position", ValueLabel = "restored" }));
            }

            if (parse.GetValue(json))
            {
                Commands.WriteJsonObject(output, writer =>
                {
                    writer.WriteString("what", name);
                    writer.WriteStartObject("metric");
                    writer.WriteNumber("clean", patching.CleanMetric);
                    writer.WriteNumber("corrupted", patching.CorruptedMetric);
                    writer.WriteEndObject();
                    Commands.WriteRows(writer, "patched", result.Dim(0), result.Dim(1), (l, j) => result[l, j]);
                });
                return 0;
            }

            var label = text.Labels();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"logit difference {label(patching.Answer)} − {label(patching.Wrong)} at the last position: clean {patching.CleanMetric:F4}, corrupted {patching.CorruptedMetric:F4}; patched runs normalised so clean = 1, corrupted = 0"));
            var table = new Spectre.Console.Table().Border(TableBorder.Rounded).AddColumn($"layer \\ {columnName}");
            for (var j = 0; j < result.Dim(1); j++)
            {
                table.AddColumn(j.ToString(CultureInfo.InvariantCulture), c => c.RightAligned());
            }

            for (var l = 0; l < result.Dim(0); l++)
            {
                table.AddRow([l.ToString(CultureInfo.InvariantCulture), .. Enumerable.Range(0, result.Dim(1)).Select(j => result[l, j].ToString("F3", CultureInfo.InvariantCulture))]);
            }

            Commands.Console(output, Commands.TableWidth(result.Dim(1))).Write(table);
            return 0;
        });
        return command;
    }
}
