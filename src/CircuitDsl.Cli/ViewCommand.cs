using System.CommandLine;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Docs;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl view</c>: one self-contained interactive page for one token sequence — where every head attends from
/// each token, the logit lens, and each head's direct logit attribution (<see cref="ExplorerPage"/>).
/// </summary>
internal static class ViewCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var sequence = new Option<int>("--sequence") { Description = "Which sequence of the tokens file to show (from 0).", DefaultValueFactory = _ => 0 };
        var outPath = new Option<string>("--out")
        {
            Description = "The HTML file to write.", DefaultValueFactory = _ => "view.html",
        };
        var command = new Command("view", "Write one self-contained interactive page: attention from each token, logit lens, direct logit attribution.")
        {
            dir, sequence, outPath,
        };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            var path = parse.GetRequiredValue(dir);
            using var folder = Commands.LoadFinite(path, tokens.HasText(parse));
            var text = new FolderTokenizer(folder);
            var batch = tokens.Read(parse, text)!;
            var index = parse.GetValue(sequence);
            if ((uint)index >= (uint)batch.Length)
            {
                throw new UsageException($"--sequence {index}: the input has {batch.Length} sequence(s).");
            }

            var data = Exploration.Compute(folder.Weights, batch[index]);
            var file = parse.GetRequiredValue(outPath);
            var title = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)))}: sequence {index}";
            File.WriteAllText(file, ExplorerPage.Render(title, data, text.Labels()));
            output.WriteLine($"wrote {file}");
            return 0;
        });
        return command;
    }
}
