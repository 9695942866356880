using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Tensors;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl paths</c>: the exact path expansion of a model's logits on token sequences, with the patterns and
/// LayerNorm scales of the real pass frozen (docs/math.md, "Path expansion"), and each order's term importance.
/// </summary>
internal static class PathsCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var order = new Option<int?>("--order")
        {
            Description = "List the paths of at most this many heads, and the rest as one term (default: every path).",
        };
        var json = Commands.JsonOption(
            "Print {\"order\", \"terms\": [{\"source\", \"heads\", \"logits\"}], \"importance\": [{\"order\", \"loss\"}]}; without it, tables.");
        var command = new Command("paths", "Split the logits exactly into one term per path (source, then heads) and rank them.")
        {
            dir, order, json,
        };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            var maxOrder = parse.GetValue(order);
            if (maxOrder < 0)
            {
                throw new UsageException($"--order must be 0 or more (got {maxOrder}).");
            }

            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir));
            var batch = tokens.Read(parse, folder)!;
            // Too many terms, or nothing to predict, is an ArgumentException: bad input, reported as one line.
            var decomposition = PathDecomposition.Compute(folder.Weights, batch, maxOrder);
            Commands.RequireFinite(folder, decomposition.Logits);
            var importance = decomposition.Importance();

            if (parse.GetValue(json))
            {
                output.WriteLine(Json(decomposition, importance));
            }
            else
            {
                Tables(Commands.Console(output), decomposition, importance);
            }

            return 0;
        });
        return command;
    }

    private static string Json(PathDecomposition decomposition, IReadOnlyList<OrderLoss> importance)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (decomposition.MaxOrder is { } k)
            {
                writer.WriteNumber("order", k);
            }
            else
            {
                writer.WriteNull("order");
            }

            writer.WriteStartArray("terms");
            foreach (var term in decomposition.Terms)
            {
                WriteTerm(writer, term.Id.Source.ToString(), term.Id.Heads, term.Logits);
            }

            if (decomposition.Rest is { } rest)
            {
                WriteTerm(writer, "rest", [], rest);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("importance");
            foreach (var loss in importance)
            {
                writer.WriteStartObject();
                writer.WriteNumber("order", loss.Order);
                writer.WriteNumber("loss", loss.Loss);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteTerm(Utf8JsonWriter writer, string source, IReadOnlyList<HeadId> heads, Tensor logits)
    {
        writer.WriteStartObject();
        writer.WriteString("source", source);
        writer.WriteStartArray("heads");
        foreach (var head in heads)
        {
            writer.WriteStringValue(head.ToString());
        }

        writer.WriteEndArray();
        Commands.WriteLogits(writer, logits);
        writer.WriteEndObject();
    }

    /// <summary>For people: the terms by share, largest first, then the loss of each order's partial sum.</summary>
    private static void Tables(IAnsiConsole console, PathDecomposition decomposition, IReadOnlyList<OrderLoss> importance)
    {
        var terms = new Table().Border(TableBorder.Rounded).AddColumn("rank").AddColumn("path").AddColumn("order")
            .AddColumn("norm").AddColumn("share");
        var rank = 1;
        foreach (var share in decomposition.Shares().OrderByDescending(s => s.Share))
        {
            var order = share.Id is { } id ? id.Order.ToString(CultureInfo.InvariantCulture) : $"> {decomposition.MaxOrder}";
            terms.AddRow(
                rank++.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(share.Id?.ToString() ?? "rest"),
                Markup.Escape(order),
                share.Norm.ToString("F3", CultureInfo.InvariantCulture),
                share.Share.ToString("P1", CultureInfo.InvariantCulture));
        }

        console.Write(terms);
        var losses = new Table().Border(TableBorder.Rounded).AddColumn("terms of order ≤").AddColumn("loss (nats/token)");
        foreach (var loss in importance)
        {
            losses.AddRow(loss.Order.ToString(CultureInfo.InvariantCulture), loss.Loss.ToString("F4", CultureInfo.InvariantCulture));
        }

        console.Write(losses);
    }
}
