using System.CommandLine;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
using CircuitDsl.Tasks;
using CircuitDsl.Text;
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
        var task = new Option<string>("--task") { Description = $"Training data: {string.Join(", ", TrainingTask.Names)}." };
        var data = new Option<string>("--data")
        {
            Description = "Train on your own data instead of a task: a .json tokens file ([[id, ...], ...]) or, any other extension, a UTF-8 text "
                + "tokenized with the model's tokenizer (BOS first); windows of n_ctx tokens of it, joined end to end.",
        };
        var tokenizerOption = new Option<string>("--tokenizer")
        {
            Description = $"The new model's tokenizer, for text --data and later --text: {Tokenizer.Gpt2Name} (built in; named in config.json), "
                + "or a folder carrying tokenizer.json or vocab.json + merges.txt (copied into the model folder).",
        };
        var resume = new Option<string>("--resume")
        {
            Description = "A model folder train wrote: continue its run bit for bit (alone), or fine-tune its weights (with --task or --data).",
        };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (default: the task's recipe)." };
        var seed = new Option<int>("--seed") { Description = "Seeds the weights and the data; same seed, same weights.", DefaultValueFactory = _ => 0 };
        var learningRate = new Option<float?>("--lr") { Description = "Peak learning rate (default: the task's recipe)." };
        var batchSize = new Option<int?>("--batch-size") { Description = "Sequences per step (default: the task's recipe)." };
        var weightDecay = new Option<float?>("--weight-decay") { Description = "AdamW weight decay (default: the task's recipe)." };
        var warmup = new Option<int?>("--warmup") { Description = "Warm-up steps (default: the task's recipe)." };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Write the model folder every N steps (default: a tenth of the run)." };
        var outDir = new Option<string>("--out") { Description = "The model folder to write (with --resume alone: that folder)." };

        var command = new Command("train", "Train a model on a task and write a model folder (config.json + model.safetensors).")
        {
            layers, heads, dModel, dHead, vocab, context, dMlp, actFn, normalization, positional,
            task, data, tokenizerOption, resume, steps, seed, learningRate, batchSize, weightDecay, warmup, checkpointEvery, outDir,
        };
        command.SetAction((parse, cancel) =>
        {
            var (taskName, dataFile, resumeDir) = (parse.GetValue(task), parse.GetValue(data), parse.GetValue(resume));
            if (taskName is not null && dataFile is not null)
            {
                throw new UsageException("give --task or --data, not both.");
            }

            var dir = parse.GetValue(outDir) ?? (taskName is null && dataFile is null ? resumeDir : null)
                ?? throw new UsageException("--out is required: the model folder to write.");
            var overrides = new TrainingOverrides
            {
                Steps = parse.GetValue(steps),
                LearningRate = parse.GetValue(learningRate),
                BatchSize = parse.GetValue(batchSize),
                WeightDecay = parse.GetValue(weightDecay),
                WarmupSteps = parse.GetValue(warmup),
            };
            using var start = resumeDir is null ? null : ModelFolder.Load(resumeDir);
            var tokenizerArgument = parse.GetValue(tokenizerOption);
            if (start is not null && tokenizerArgument is not null)
            {
                throw new UsageException("--tokenizer is for a new model: with --resume the model folder's own tokenizer is used.");
            }

            var carried = start is null ? ChosenTokenizer(tokenizerArgument) : FolderTokenizer(start.Directory);
            ModelConfig config;
            TrainingOptions options;
            TrainingResume? from = null;
            var dataPath = dataFile is null ? null : Path.GetFullPath(dataFile);
            if (start is null)
            {
                var mlp = parse.GetValue(dMlp);
                config = new ModelConfig
                {
                    NLayers = parse.GetValue(layers), NHeads = parse.GetValue(heads), DModel = parse.GetValue(dModel),
                    DHead = parse.GetValue(dHead), DVocab = parse.GetValue(vocab), NCtx = parse.GetValue(context),
                    DMlp = mlp, AttnOnly = mlp is null, ActFn = mlp is null ? null : parse.GetValue(actFn),
                    NormalizationType = parse.GetValue(normalization),
                    PositionalEmbeddingType = parse.GetValue(positional), Seed = parse.GetValue(seed),
                    TokenizerName = carried.Name,
                };
                var configProblems = config.Problems();
                if (configProblems.Count > 0)
                {
                    throw new UsageException(string.Join(" ", configProblems));
                }

                options = NewOptions(taskName, dataFile, config, parse.GetValue(seed), overrides, carried);
            }
            else if (taskName is null && dataFile is null)
            {
                // Continue the interrupted run: its architecture, recipe, weights and optimizer state are the folder's.
                config = start.Config;
                (from, var recipe) = TrainingStateFile.Load(resumeDir!, start.Weights);
                options = SavedOptions(recipe, config, carried);
                dataPath = recipe.GetValueOrDefault("data");
            }
            else
            {
                // Fine-tune: the folder's weights, a fresh optimizer and the new data's recipe.
                config = start.Config;
                options = NewOptions(taskName, dataFile, config, parse.GetValue(seed), overrides, carried);
                from = new TrainingResume(0, start.Weights, null);
            }

            if (from is { Moments: not null } && from.Step >= options.Steps)
            {
                output.WriteLine($"nothing to resume: {resumeDir} finished its {options.Steps} steps");
                return Task.FromResult(0);
            }

            var saved = Recipe(options, dataPath);
            var checkpointed = false;
            // The tokenizer's files go beside the weights, unless the folder written is the one they come from.
            string Full(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
            var copyFiles = start is null || Full(dir) != Full(start.Directory);
            void Save(TransformerWeights weights)
            {
                ModelFolder.Save(dir, weights);
                foreach (var file in copyFiles ? carried.Files : [])
                {
                    File.Copy(file, Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
                }

                copyFiles = false;
            }

            options = options with
            {
                CheckpointEvery = parse.GetValue(checkpointEvery) ?? Math.Max(options.Steps / 10, 1),
                Checkpoint = checkpoint =>
                {
                    Save(checkpoint.Weights);
                    TrainingStateFile.Save(dir, checkpoint, saved);
                    checkpointed = true;
                },
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
                weights = ModelTraining.Run(output, config, options, cancel, from);
            }
            catch (InvalidOperationException e)
            {
                // The trainer's one failure: the loss diverged (the message names the step); the hyperparameters are the input at fault.
                throw new UsageException(e.Message);
            }

            // The trainer checkpoints its last completed step, so the folder already holds these weights unless no step ran.
            if (!checkpointed)
            {
                Save(weights);
            }

            output.WriteLine(cancel.IsCancellationRequested
                ? $"interrupted: wrote the last completed step to {dir}"
                : $"wrote {dir}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>
    /// The options for a new run on a task, or on a data file with the <c>repeated-tokens</c> recipe (text through
    /// <paramref name="tokenizer"/>'s tokenizer).
    /// </summary>
    private static TrainingOptions NewOptions(string? taskName, string? dataFile, ModelConfig config, int seed, TrainingOverrides overrides,
        CarriedTokenizer tokenizer)
    {
        if (dataFile is null)
        {
            return ModelTraining.Options(taskName ?? throw new UsageException("give --task or --data: what to train on."), config, seed, overrides);
        }

        return ModelTraining.Options(TaskNames.RepeatedTokens, config, seed, overrides) with { Task = DataTask(dataFile, config, tokenizer) };
    }

    /// <summary>
    /// The data of <c>--data</c>: a <c>.json</c> file is token ids (<see cref="TokensFile"/>); any other file is UTF-8
    /// text, encoded whole as one sequence with BOS first by the model's tokenizer.
    /// </summary>
    private static TokenStreamTask DataTask(string dataFile, ModelConfig config, CarriedTokenizer tokenizer)
    {
        var isText = !IsTokensFile(dataFile);
        int[][] sequences;
        if (isText)
        {
            var text = TokenInput.ReadTextFile(dataFile);
            var encoder = tokenizer.Tokenizer ?? throw new UsageException(
                $"{dataFile}: a text file (not .json token ids) needs the model's tokenizer: give --tokenizer {Tokenizer.Gpt2Name} or a folder that carries one.");
            try
            {
                sequences = [encoder.Encode(text)];
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"{dataFile}: {CommandLine.Reason(e)}");
            }
        }
        else
        {
            sequences = TokensFile.Read(dataFile);
        }

        try
        {
            return new TokenStreamTask(config.DVocab, sequences);
        }
        catch (ArgumentException e)
        {
            var largest = sequences.SelectMany(s => s).Max();
            var hint = isText && largest >= config.DVocab
                ? $" The tokenizer gives ids up to {largest}: give the model --vocab {largest + 1} or more."
                : "";
            throw new UsageException($"{dataFile}: {CommandLine.Reason(e)}{hint}");
        }
    }

    /// <summary>Whether <c>--data</c> names token ids (a <c>.json</c> file) rather than text: the extension decides, never the content.</summary>
    private static bool IsTokensFile(string dataFile) => Path.GetExtension(dataFile).Equals(".json", StringComparison.OrdinalIgnoreCase);

    /// <summary>The tokenizer a model folder train writes carries: a built-in one's name for its config, or files to copy beside it.</summary>
    private sealed record CarriedTokenizer(Tokenizer? Tokenizer, string? Name, IReadOnlyList<string> Files);

    /// <summary>What <c>--tokenizer</c> gives a new model: the built-in GPT-2 by name, or a folder's tokenizer and its files.</summary>
    private static CarriedTokenizer ChosenTokenizer(string? argument)
    {
        if (argument is null)
        {
            return new CarriedTokenizer(null, null, []);
        }

        if (argument == Tokenizer.Gpt2Name)
        {
            return new CarriedTokenizer(Tokenizer.Gpt2(), Tokenizer.Gpt2Name, []);
        }

        if (!Directory.Exists(argument))
        {
            throw new UsageException($"--tokenizer {argument}: neither '{Tokenizer.Gpt2Name}' nor a folder.");
        }

        var chosen = FolderTokenizer(argument);
        return chosen.Tokenizer is null
            ? throw new UsageException($"--tokenizer {argument}: the folder carries no tokenizer (tokenizer.json, vocab.json + merges.txt, or a config naming '{Tokenizer.Gpt2Name}').")
            : chosen;
    }

    /// <summary>The tokenizer <paramref name="directory"/> carries (<see cref="Tokenizer.FromFolder"/>), with its files, if any.</summary>
    private static CarriedTokenizer FolderTokenizer(string directory)
    {
        var tokenizer = Tokenizer.FromFolder(directory);
        string[] files = [.. new[] { Tokenizer.TokenizerJsonFileName, Tokenizer.VocabFileName, Tokenizer.MergesFileName }
            .Select(name => Path.Combine(directory, name)).Where(File.Exists)];
        return new CarriedTokenizer(tokenizer, files.Length == 0 ? tokenizer?.Source : null, files);
    }

    /// <summary>What a checkpoint records of the run's recipe, so that <c>--resume</c> rebuilds it.</summary>
    private static Dictionary<string, string> Recipe(TrainingOptions options, string? dataFile)
    {
        string Number(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var recipe = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["task"] = options.Task.Name, ["seed"] = Number(options.Seed), ["steps"] = Number(options.Steps),
            ["learning_rate"] = Number(options.LearningRate), ["batch_size"] = Number(options.BatchSize),
            ["weight_decay"] = Number(options.WeightDecay), ["warmup_steps"] = Number(options.WarmupSteps),
        };
        if (dataFile is not null)
        {
            recipe["data"] = dataFile;
        }

        return recipe;
    }

    /// <summary>The options a checkpoint's recipe records (<see cref="Recipe"/>).</summary>
    private static TrainingOptions SavedOptions(IReadOnlyDictionary<string, string> recipe, ModelConfig config, CarriedTokenizer tokenizer)
    {
        string Value(string key) => recipe.TryGetValue(key, out var value)
            ? value
            : throw new UsageException($"{TrainingStateFile.FileName}: the saved recipe has no '{key}'.");
        double Number(string key) => double.TryParse(Value(key), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{TrainingStateFile.FileName}: the saved recipe's '{key}' is not a number.");
        var overrides = new TrainingOverrides
        {
            Steps = (int)Number("steps"), LearningRate = (float)Number("learning_rate"), BatchSize = (int)Number("batch_size"),
            WeightDecay = (float)Number("weight_decay"), WarmupSteps = (int)Number("warmup_steps"),
        };
        var task = Value("task");
        return task == TokenStreamTask.TaskName
            ? NewOptions(null, Value("data"), config, (int)Number("seed"), overrides, tokenizer)
            : NewOptions(task, null, config, (int)Number("seed"), overrides, tokenizer);
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
