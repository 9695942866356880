using System.CommandLine;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
using CircuitDsl.Tasks;
using CircuitDsl.Training;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl train</c>: trains a model on a task and writes a model folder. The recipe for the task
/// (<see cref="TrainingOptions.Recommended"/>) supplies every hyperparameter not given on the command line
/// (<see cref="TrainingOverrides"/>).
/// Checkpoints are written atomically, so Ctrl-C leaves the last good one in place.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output)
    {
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 2 };
        var heads = new Option<int>("--heads") { Description = "Attention heads per block.", DefaultValueFactory = _ => 4 };
        var dModel = new Option<int>("--d-model") { Description = "Residual stream width.", DefaultValueFactory = _ => 64 };
        var dHead = new Option<int>("--d-head") { Description = "Query/key/value width per head.", DefaultValueFactory = _ => 16 };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size.", DefaultValueFactory = _ => 64 };
        var context = new Option<int>("--context") { Description = "Context length (sequence length used in training).", DefaultValueFactory = _ => 64 };
        var dMlp = new Option<int?>("--d-mlp") { Description = "MLP width; omit for an attention-only model." };
        var actFn = ConfigOption<ActivationFunction>("--act-fn", "MLP activation: ", ActivationFunction.Gelu, ConfigNames.TryParse);
        var normalization = ConfigOption<Normalization>("--normalization", "", Normalization.LN, ConfigNames.TryParse);
        var positional = ConfigOption<PositionalEmbedding>("--positional", "", PositionalEmbedding.Standard, ConfigNames.TryParse);
        var task = new Option<string>("--task") { Description = $"Training data: {string.Join(", ", TrainingTask.Names)}.", Required = true };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (default: the task's recipe)." };
        var seed = new Option<int>("--seed") { Description = "Seeds the weights and the data; same seed, same weights.", DefaultValueFactory = _ => 0 };
        var learningRate = new Option<float?>("--lr") { Description = "Peak learning rate (default: the task's recipe)." };
        var batchSize = new Option<int?>("--batch-size") { Description = "Sequences per step (default: the task's recipe)." };
        var weightDecay = new Option<float?>("--weight-decay") { Description = "AdamW weight decay (default: the task's recipe)." };
        var warmup = new Option<int?>("--warmup") { Description = "Warm-up steps (default: the task's recipe)." };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Write the model folder every N steps (default: a tenth of the run)." };
        var outDir = new Option<string>("--out") { Description = "The model folder to write.", Required = true };

        var command = new Command("train", "Train a model on a task and write a model folder (config.json + model.safetensors).")
        {
            layers, heads, dModel, dHead, vocab, context, dMlp, actFn, normalization, positional,
            task, steps, seed, learningRate, batchSize, weightDecay, warmup, checkpointEvery, outDir,
        };
        command.SetAction((parse, cancel) =>
        {
            var mlp = parse.GetValue(dMlp);
            var config = new ModelConfig
            {
                NLayers = parse.GetValue(layers), NHeads = parse.GetValue(heads), DModel = parse.GetValue(dModel),
                DHead = parse.GetValue(dHead), DVocab = parse.GetValue(vocab), NCtx = parse.GetValue(context),
                DMlp = mlp, AttnOnly = mlp is null, ActFn = mlp is null ? null : parse.GetValue(actFn),
                NormalizationType = parse.GetValue(normalization),
                PositionalEmbeddingType = parse.GetValue(positional), Seed = parse.GetValue(seed),
            };
            var configProblems = config.Problems();
            if (configProblems.Count > 0)
            {
                throw new UsageException(string.Join(" ", configProblems));
            }

            var dir = parse.GetRequiredValue(outDir);
            var options = ModelTraining.Options(parse.GetRequiredValue(task), config, parse.GetValue(seed), new TrainingOverrides
            {
                Steps = parse.GetValue(steps),
                LearningRate = parse.GetValue(learningRate),
                BatchSize = parse.GetValue(batchSize),
                WeightDecay = parse.GetValue(weightDecay),
                WarmupSteps = parse.GetValue(warmup),
            });
            options = options with
            {
                CheckpointEvery = parse.GetValue(checkpointEvery) ?? Math.Max(options.Steps / 10, 1),
                Checkpoint = checkpoint => ModelFolder.Save(dir, checkpoint.Weights),
            };
            var problems = options.Problems(config);
            if (problems.Count > 0)
            {
                throw new UsageException(string.Join(" ", problems));
            }

            // Fail before training, not at the first checkpoint, when the output folder cannot be made.
            try
            {
                Directory.CreateDirectory(dir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{dir}: cannot create the output folder: {e.Message}");
            }

            TransformerWeights weights;
            try
            {
                weights = ModelTraining.Run(output, config, options, cancel);
            }
            catch (InvalidOperationException e)
            {
                // The trainer's one failure: the loss diverged (the message names the step); the hyperparameters are the input at fault.
                throw new UsageException(e.Message);
            }

            ModelFolder.Save(dir, weights);
            output.WriteLine(cancel.IsCancellationRequested
                ? $"interrupted: wrote the last completed step to {dir}"
                : $"wrote {dir}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>One of <see cref="ConfigNames"/>' <c>TryParse</c> overloads: reads a value as <c>config.json</c> spells it.</summary>
    private delegate bool ConfigParser<T>(string? value, out T result);

    /// <summary>
    /// An option whose values are <typeparamref name="T"/>'s config spellings, with <c>none</c> (any case) for null,
    /// listed in its description after <paramref name="prefix"/>.
    /// </summary>
    private static Option<T> ConfigOption<T>(string name, string prefix, T defaultValue, ConfigParser<T> tryParse)
        where T : struct, Enum
    {
        var choices = ConfigNames.Choices<T>(none: "none");
        return new Option<T>(name)
        {
            Description = $"{prefix}{choices}.",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var token = result.Tokens.Single().Value;
                if (tryParse(token.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : token, out var value))
                {
                    return value;
                }

                result.AddError($"{name} must be {choices} (got {token}).");
                return defaultValue;
            },
        };
    }
}
