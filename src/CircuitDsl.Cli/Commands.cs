using System.CommandLine;
using System.Text.Json;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>The subcommands. Each loads what it needs, does one job, and prints text or JSON.</summary>
internal static class Commands
{
    public static Command Logits(TextWriter output)
    {
        var dir = ModelDirectory();
        var json = JsonOption("Print {\"logits\": [[[float]]]} shaped [sequence][position][vocab]; without it, a table of top predictions.");
        var command = new Command("logits", "Run the model on token sequences and print the logits.") { dir, json };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            using var folder = LoadFinite(parse.GetRequiredValue(dir), tokens.HasText(parse));
            var text = new FolderTokenizer(folder);
            var batch = tokens.Read(parse, text)!;
            var model = new HookedTransformer(folder.Weights);
            if (!parse.GetValue(json))
            {
                WriteTopPredictions(output, FiniteTopPredictions(folder, model, batch), batch, text.Labels());
                return 0;
            }

            var logits = RequireFinite(folder, model.Forward(batch));
            WriteJsonObject(output, writer => WriteLogits(writer, logits));
            return 0;
        });
        return command;
    }

    public static Command Loss(TextWriter output)
    {
        var dir = ModelDirectory();
        var json = JsonOption("Print {\"loss\": float, \"tokens\": int}.");
        var command = new Command("loss", "Mean next-token cross-entropy (natural log) of the model on token sequences.") { dir, json };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            using var folder = LoadFinite(parse.GetRequiredValue(dir), tokens.HasText(parse));
            var batch = tokens.Read(parse, folder)!;
            double loss;
            try
            {
                loss = Losses.NextTokenCrossEntropy(new HookedTransformer(folder.Weights), batch);
            }
            catch (NonFiniteLogitException e)
            {
                throw Overflow(folder, e.Sequence, e.Position, e.Token, e.Value);
            }

            var predicted = batch.Length * (batch[0].Length - 1);
            if (parse.GetValue(json))
            {
                WriteJsonObject(output, writer =>
                {
                    writer.WriteNumber("loss", loss);
                    writer.WriteNumber("tokens", predicted);
                });
            }
            else
            {
                output.WriteLine($"loss {loss:F4} nats/token over {predicted} predicted tokens");
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// Loads a model folder whose weights are all finite: a NaN or infinity is reported as bad input naming the file,
    /// the tensor and the element, rather than printed as NaN logits or a NaN loss. With
    /// <paramref name="readTokenizerAhead"/> (a command given text) the folder's tokenizer is read meanwhile
    /// (<see cref="FolderTokenizer.Prefetch"/>); the vector code every model command runs is compiled meanwhile
    /// (<see cref="Warmup"/>).
    /// </summary>
    public static ModelFolder LoadFinite(string dir, bool readTokenizerAhead = false)
    {
        Warmup.Start();
        if (readTokenizerAhead)
        {
            FolderTokenizer.Prefetch(dir);
        }

        var folder = ModelFolder.Load(dir);
        if (Circuits.ModelAnalysis.FindNonFinite(folder.Weights) is { } why)
        {
            folder.Dispose();
            throw new WeightsFormatException(folder.WeightsFile, null, why);
        }

        return folder;
    }

    /// <summary>
    /// Each position's three most likely next tokens, straight out of the unembedding (no logits tensor), refusing finite
    /// weights that still overflow to a non-finite logit as <see cref="RequireFinite"/> does, naming the same logit.
    /// </summary>
    private static Prediction[][][] FiniteTopPredictions(ModelFolder folder, HookedTransformer model, int[][] batch)
    {
        try
        {
            return Losses.TopPredictions(model, batch, 3);
        }
        catch (NonFiniteLogitException e)
        {
            throw Overflow(folder, e.Sequence, e.Position, e.Token, e.Value);
        }
    }

    /// <summary><paramref name="logits"/> of finite weights, refused (naming the first bad logit) if the forward pass overflowed.</summary>
    public static Tensor RequireFinite(ModelFolder folder, Tensor logits)
    {
        var span = logits.Span;
        for (var i = 0; i < span.Length; i++)
        {
            if (!float.IsFinite(span[i]))
            {
                int vocab = logits.Dim(2), positions = logits.Dim(1);
                throw Overflow(folder, i / vocab / positions, i / vocab % positions, i % vocab, span[i]);
            }
        }

        return logits;
    }

    /// <summary>The bad input of finite weights whose forward pass made a NaN or infinite logit, naming it.</summary>
    public static WeightsFormatException Overflow(ModelFolder folder, int sequence, int position, int token, float value) =>
        new(folder.WeightsFile, null, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the weights are finite but the forward pass overflows: the logit of token {token} at sequence {sequence}, position {position} is {value}."));

    /// <summary>Writes <c>"logits": [[[float]]]</c>, <paramref name="logits"/> <c>[sequence, position, vocab]</c> as nested arrays.</summary>
    public static void WriteLogits(Utf8JsonWriter writer, Tensor logits)
    {
        writer.WriteStartArray("logits");
        int positions = logits.Dim(1), vocab = logits.Dim(2);
        for (var b = 0; b < logits.Dim(0); b++)
        {
            writer.WriteStartArray();
            for (var p = 0; p < positions; p++)
            {
                writer.WriteStartArray();
                foreach (var v in logits.Span.Slice(((b * positions) + p) * vocab, vocab))
                {
                    writer.WriteNumberValue(v);
                }

                writer.WriteEndArray();
                if (writer.BytesPending > 1 << 20)
                {
                    // Onto the writer's stream a megabyte at a time, rather than the whole tensor's text at once.
                    writer.Flush();
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// Writes one JSON object onto <paramref name="output"/>, on one line or, <paramref name="indented"/>, over many, and
    /// a newline: <paramref name="members"/> writes what is inside its braces, straight from the values (no tree of nodes).
    /// </summary>
    public static void WriteJsonObject(TextWriter output, Action<Utf8JsonWriter> members, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
    }

    /// <summary>Writes <c>"name": [[…], …]</c>, a <paramref name="rows"/> × <paramref name="columns"/> table of numbers by row.</summary>
    public static void WriteRows(Utf8JsonWriter writer, string name, int rows, int columns, Func<int, int, double> value)
    {
        writer.WriteStartArray(name);
        for (var i = 0; i < rows; i++)
        {
            writer.WriteStartArray();
            for (var j = 0; j < columns; j++)
            {
                writer.WriteNumberValue(value(i, j));
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }

    /// <summary>Writes <c>"name": value</c>, or <c>null</c> when there is none or it was not measured (NaN or infinite).</summary>
    public static void WriteNumberOrNull(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } number && double.IsFinite(number))
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>For people: each position's token and the model's most likely next tokens, <paramref name="top"/> <c>[sequence][position]</c>.</summary>
    private static void WriteTopPredictions(TextWriter output, Prediction[][][] top, int[][] batch, Func<int, string> label)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("seq").AddColumn("pos").AddColumn("token")
            .AddColumn("most likely next (logit)");
        for (var b = 0; b < batch.Length; b++)
        {
            for (var p = 0; p < batch[b].Length; p++)
            {
                var predictions = top[b][p].Select(t => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{label(t.Token)} ({t.Logit:F2})"));
                table.AddRow($"{b}", $"{p}", Markup.Escape(label(batch[b][p])), Markup.Escape(string.Join(", ", predictions)));
            }
        }

        Console(output).Write(table);
    }

    /// <summary>
    /// A Spectre console that writes to <paramref name="output"/> (colour only on a real terminal), at least
    /// <paramref name="minWidth"/> characters wide.
    /// </summary>
    public static IAnsiConsole Console(TextWriter output, int minWidth = 0)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = output == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.Detect,
        });

        // A table with a column per head or position is read whole: past the terminal's edge, not wrapped inside its cells.
        console.Profile.Width = Math.Max(console.Profile.Width, minWidth);
        return console;
    }

    /// <summary>The width a table needs whose <paramref name="columns"/> number columns are at most 8 characters wide, plus its label column.</summary>
    public static int TableWidth(int columns) => 16 + (columns * 9);

    public static Argument<string> ModelDirectory() => new("DIR") { Description = "A model folder: config.json and model.safetensors or model.pth." };

    public static Option<bool> JsonOption(string description) => new("--json") { Description = description };
}
