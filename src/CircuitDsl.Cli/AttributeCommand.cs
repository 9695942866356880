using System.CommandLine;
using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;
using Spectre.Console;
using Table = Spectre.Console.Table;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl attribute</c>: direct logit attribution (docs/math.md, "Residual stream, logit lens and direct logit
/// attribution"): what each head, and each other component of the final residual stream, adds through the frozen
/// final LayerNorm to the logit of the next token, or to the logit difference of an answer over a wrong token.
/// </summary>
internal static class AttributeCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var answer = new Option<string?>("--answer")
        {
            Description = "Attribute the logit difference of this token over --wrong at the last position (an id, or a text that is one token) instead of the next token's logit.",
        };
        var wrong = new Option<string?>("--wrong") { Description = "The wrong token of the logit difference (with --answer)." };
        var svg = new Option<string?>("--svg") { Description = "Also write the per-head attribution as an SVG heatmap to this file." };
        var json = Commands.JsonOption(
            "Print {\"target\", \"answer\", \"wrong\", \"logit\", \"constant\", \"components\": [{\"label\", \"value\"}], \"heads\": [[…]]} (heads indexed [layer][head]).");
        var command = new Command("attribute", "Direct logit attribution: what each head adds to the next token's logit, or to a logit difference.")
        {
            dir, answer, wrong, svg, json,
        };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir), tokens.HasText(parse));
            var text = new FolderTokenizer(folder);
            var batch = tokens.Read(parse, text)!;
            var target = Target(text, parse.GetValue(answer), parse.GetValue(wrong));
            var decomposition = ResidualDecomposition.Compute(folder.Weights, batch);
            Commands.RequireFinite(folder, decomposition.Logits);
            LogitAttribution attribution;
            int? position;
            try
            {
                (attribution, position) = target is var (a, w)
                    ? (decomposition.Attribute(a, w), batch[0].Length - 1)
                    : (decomposition.Attribute(), (int?)null);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }

            var heads = attribution.MeanByHead(position);
            var components = attribution.Components.Select(c => (c.Label, Value: LogitAttribution.Mean(c.Value, position))).ToList();
            var constant = LogitAttribution.Mean(attribution.Constant, position);
            var logit = LogitAttribution.Mean(attribution.Logit, position);
            if (parse.GetValue(svg) is { } svgPath)
            {
                File.WriteAllText(svgPath, Svg.HeadAttribution(target is null ? "Direct logit attribution: the next token" : "Direct logit attribution: answer − wrong", heads));
            }

            if (parse.GetValue(json))
            {
                Commands.WriteJsonObject(output, writer =>
                {
                    writer.WriteString("target", target is null ? "next_token" : "logit_difference");
                    Commands.WriteNumberOrNull(writer, "answer", target?.Answer);
                    Commands.WriteNumberOrNull(writer, "wrong", target?.Wrong);
                    writer.WriteNumber("logit", logit);
                    writer.WriteNumber("constant", constant);
                    writer.WriteStartArray("components");
                    foreach (var (label, value) in components)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("label", label);
                        writer.WriteNumber("value", value);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                    Commands.WriteRows(writer, "heads", heads.GetLength(0), heads.GetLength(1), (l, h) => heads[l, h]);
                });
                return 0;
            }

            var label = text.Labels();
            output.WriteLine(target is var (answerId, wrongId)
                ? string.Create(CultureInfo.InvariantCulture,
                    $"logit difference {label(answerId)} − {label(wrongId)} at the last position, mean over {batch.Length} sequence(s): {logit:F4}")
                : string.Create(CultureInfo.InvariantCulture,
                    $"logit of the actual next token, mean over {batch.Length} × {batch[0].Length - 1} predicting positions: {logit:F4}"));
            Tables(Commands.Console(output, Commands.TableWidth(heads.GetLength(1))), heads, components, constant);
            return 0;
        });
        return command;
    }

    /// <summary>The logit difference <c>--answer</c> over <c>--wrong</c>, or null for the next token's logit.</summary>
    private static (int Answer, int Wrong)? Target(FolderTokenizer text, string? answer, string? wrong)
    {
        if (answer is null && wrong is null)
        {
            return null;
        }

        if (answer is null || wrong is null)
        {
            throw new UsageException("--answer and --wrong go together: give both for a logit difference, or neither for the next token's logit.");
        }

        var (a, w) = (text.TokenId("--answer", answer), text.TokenId("--wrong", wrong));
        var vocab = text.Folder.Config.DVocab;
        foreach (var (option, id) in new[] { ("--answer", a), ("--wrong", w) })
        {
            if (id >= vocab)
            {
                throw new UsageException($"{option} {id} is outside the vocabulary (d_vocab {vocab}).");
            }
        }

        return a == w ? throw new UsageException($"--answer and --wrong are both {a}: a logit difference needs two tokens.") : (a, w);
    }

    /// <summary>For people: the layer × head attributions, then the other components, the constant and their sum.</summary>
    private static void Tables(IAnsiConsole console, double[,] heads, List<(string Label, double Value)> components, double constant)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("layer \\ head");
        for (var h = 0; h < heads.GetLength(1); h++)
        {
            table.AddColumn(h.ToString(CultureInfo.InvariantCulture), c => c.RightAligned());
        }

        for (var l = 0; l < heads.GetLength(0); l++)
        {
            table.AddRow([l.ToString(CultureInfo.InvariantCulture), .. Enumerable.Range(0, heads.GetLength(1)).Select(h => Number(heads[l, h]))]);
        }

        console.Write(table);
        var others = new Table().Border(TableBorder.Rounded).AddColumn("component").AddColumn("logit", c => c.RightAligned());
        foreach (var (label, value) in components)
        {
            others.AddRow(Markup.Escape(label), Number(value));
        }

        others.AddRow("b_U + b_final W_U", Number(constant));
        others.AddRow("every head", Number(heads.Cast<double>().Sum()));
        console.Write(others);
    }

    private static string Number(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}
