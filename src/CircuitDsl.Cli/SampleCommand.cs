using System.CommandLine;
using System.Text.Json;
using CircuitDsl.Cli.Application;
using CircuitDsl.Tasks;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl sample</c>: writes a tokens file of sequences drawn from a training task, so that a loss, a fit or a
/// comparison can be run on the task's data (held out from training by its own seed).
/// </summary>
internal static class SampleCommand
{
    public static Command Create(TextWriter output)
    {
        var task = new Option<string>("--task") { Description = $"The task: {string.Join(", ", TrainingTask.Names)}.", Required = true };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size.", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "Seeds the task's structure (the Markov chain, the trigram table), as train's --seed does.", DefaultValueFactory = _ => 0 };
        var dataSeed = new Option<int>("--data-seed") { Description = "Seeds the sequences drawn.", DefaultValueFactory = _ => 1 };
        var count = new Option<int>("--count") { Description = "Sequences.", DefaultValueFactory = _ => 32 };
        var length = new Option<int>("--length") { Description = "Tokens per sequence.", DefaultValueFactory = _ => 64 };
        var outFile = new Option<string>("--out") { Description = "The tokens file to write (JSON).", Required = true };
        var command = new Command("sample", "Write a tokens file of sequences drawn from a training task.")
        {
            task, vocab, seed, dataSeed, count, length, outFile,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(count);
            var len = parse.GetValue(length);
            if (n is < 1 or > 100_000 || len is < 2 or > 100_000)
            {
                throw new UsageException($"--count must be 1…100000 and --length 2…100000 (got {n} and {len}).");
            }

            var generator = TrainingTask.Create(parse.GetRequiredValue(task), parse.GetValue(vocab), parse.GetValue(seed));
            var tokens = generator.Batch(n, len, parse.GetValue(dataSeed));
            var path = parse.GetRequiredValue(outFile);
            File.WriteAllText(path, JsonSerializer.Serialize(tokens));
            output.WriteLine($"wrote {n} sequences of {len} {generator.Name} tokens to {path}");
            return 0;
        });
        return command;
    }
}
