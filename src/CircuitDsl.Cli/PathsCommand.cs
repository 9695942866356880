using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
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
        var top = new Option<int?>("--top")
        {
            Description = "In the table, list only the N terms with the largest shares (default: every term); the JSON always has every term.",
        };
        var command = new Command("paths", "Split the logits exactly into one term per path (source, then heads) and rank them.")
        {
            dir, order, top, json,
        };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            var maxOrder = parse.GetValue(order);
            if (maxOrder < 0)
            {
                throw new UsageException($"--order must be 0 or more (got {maxOrder}).");
            }

            var shown = parse.GetValue(top);
            if (shown < 1)
            {
                throw new UsageException($"--top must be 1 or more (got {shown}).");
            }

            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir), tokens.HasText(parse));
            var batch = tokens.Read(parse, folder)!;
            // Too many terms, or nothing to predict, is an ArgumentException: bad input, reported as one line.
            PathExpansion.RequireListable(folder.Weights.Config, maxOrder);
            var expansion = PathExpansion.Compute(folder.Weights, batch);
            IReadOnlyList<OrderLoss> importance;
            try
            {
                // Term importance reduces the model's own logits first (with every order's, in one pass), so that
                // logits which overflow are named as the model's.
                importance = expansion.Importance();
            }
            catch (NonFiniteLogitException e)
            {
                throw Commands.Overflow(folder, e.Sequence, e.Position, e.Token, e.Value);
            }

            if (parse.GetValue(json))
            {
                Json(output, expansion, maxOrder, importance);
            }
            else
            {
                Tables(Commands.Console(output), expansion.Shares(maxOrder), maxOrder, shown, importance);
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// Writes the JSON onto <paramref name="output"/> a term at a time: each term's logits are made, written and dropped
    /// before the next (<see cref="PathExpansion.Unembed"/>), so only one term's logits exist at once.
    /// </summary>
    private static void Json(TextWriter output, PathExpansion expansion, int? maxOrder, IReadOnlyList<OrderLoss> importance)
    {
        using var stream = new TextWriterStream(output);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (maxOrder is { } k)
            {
                writer.WriteNumber("order", k);
            }
            else
            {
                writer.WriteNull("order");
            }

            writer.WriteStartArray("terms");
            expansion.Unembed(maxOrder, (id, logits) =>
            {
                WriteTerm(writer, id?.Source.ToString() ?? "rest", id?.Heads ?? [], logits);
                writer.Flush();
            });
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

        output.WriteLine();
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

    /// <summary>
    /// For people: the terms by share, largest first (the first <paramref name="top"/> when given), with each one's mean
    /// contribution to the next token's logit, then the loss of each order's partial sum.
    /// </summary>
    private static void Tables(IAnsiConsole console, IReadOnlyList<TermShare> shares, int? maxOrder, int? top, IReadOnlyList<OrderLoss> importance)
    {
        var terms = new Table().Border(TableBorder.Rounded).AddColumn("rank").AddColumn("path").AddColumn("order")
            .AddColumn("norm").AddColumn("share").AddColumn("next-token logit");
        var rank = 1;
        foreach (var share in shares.OrderByDescending(s => s.Share).Take(top ?? shares.Count))
        {
            var order = share.Id is { } id ? id.Order.ToString(CultureInfo.InvariantCulture) : $"> {maxOrder}";
            terms.AddRow(
                rank++.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(share.Id?.ToString() ?? "rest"),
                Markup.Escape(order),
                share.Norm.ToString("F3", CultureInfo.InvariantCulture),
                share.Share.ToString("P1", CultureInfo.InvariantCulture),
                share.NextTokenLogit.ToString("F3", CultureInfo.InvariantCulture));
        }

        console.Write(terms);
        if (top < shares.Count)
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the {top} largest of {shares.Count} terms; --top lists more"));
        }

        var losses = new Table().Border(TableBorder.Rounded).AddColumn("terms of order ≤").AddColumn("loss (nats/token)");
        foreach (var loss in importance)
        {
            losses.AddRow(loss.Order.ToString(CultureInfo.InvariantCulture), loss.Loss.ToString("F4", CultureInfo.InvariantCulture));
        }

        console.Write(losses);
    }

    /// <summary>A write-only stream that decodes the UTF-8 a <see cref="Utf8JsonWriter"/> flushes onto a <see cref="TextWriter"/>.</summary>
    private sealed class TextWriterStream(TextWriter output) : Stream
    {
        private readonly System.Text.Decoder _decoder = System.Text.Encoding.UTF8.GetDecoder();
        private char[] _chars = [];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var count = _decoder.GetCharCount(buffer, flush: false);
            if (_chars.Length < count)
            {
                _chars = new char[count];
            }

            var written = _decoder.GetChars(buffer, _chars, flush: false);
            output.Write(_chars, 0, written);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush() => output.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
