using System.CommandLine;
using CircuitDsl.Cli.Application;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl convert</c>: a model folder — a Hugging Face GPT-2 checkpoint, or any folder <see cref="ModelFolder.Load"/>
/// reads — written as a TransformerLens-format folder (<c>config.json</c> + F32 <c>model.safetensors</c>), with its
/// tokenizer files copied beside them.
/// </summary>
internal static class ConvertCommand
{
    private static readonly string[] TokenizerFiles = [Tokenizer.TokenizerJsonFileName, Tokenizer.VocabFileName, Tokenizer.MergesFileName];

    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        dir.Description += " A Hugging Face GPT-2 folder (config.json with model_type gpt2, model.safetensors or pytorch_model.bin) too.";
        var outDir = new Option<string>("--out") { Description = "The TransformerLens-format folder to write (new or empty).", Required = true };
        var command = new Command("convert", "Write a model folder (e.g. a Hugging Face GPT-2 checkpoint) as a TransformerLens-format folder.")
        {
            dir, outDir,
        };
        command.SetAction(parse =>
        {
            var target = Path.GetFullPath(parse.GetRequiredValue(outDir));
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            {
                throw new UsageException($"{target}: --out must be a new or empty folder (nothing is overwritten).");
            }

            if (File.Exists(target))
            {
                throw new UsageException($"{target}: --out is a file, not a folder.");
            }

            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir));
            // Read it before writing anything: a broken tokenizer file is refused, not copied.
            var tokenizer = Tokenizer.FromFolder(folder.Directory);
            ModelFolder.Save(target, folder.Weights);
            var copied = TokenizerFiles.Where(f => File.Exists(Path.Combine(folder.Directory, f))).ToList();
            foreach (var file in copied)
            {
                File.Copy(Path.Combine(folder.Directory, file), Path.Combine(target, file));
            }

            var c = folder.Config;
            output.WriteLine($"wrote {target}: {c.NLayers} layers, {c.NHeads} heads, d_model {c.DModel}, d_vocab {c.DVocab}, n_ctx {c.NCtx}"
                + (copied.Count > 0 ? $"; tokenizer: {string.Join(", ", copied)}" : tokenizer is null ? "; no tokenizer" : ""));
            return 0;
        });
        return command;
    }
}
