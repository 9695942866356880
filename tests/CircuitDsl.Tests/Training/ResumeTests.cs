using CircuitDsl.Model;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Training;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Training;

/// <summary>
/// An interrupted run continued from its checkpoint ends with the same bits as one never interrupted; fine-tuning and
/// training on a user's tokens file through <c>train</c>.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private static readonly ModelConfig Small = new()
    {
        NLayers = 2, NHeads = 2, DModel = 8, DHead = 4, DVocab = 16, NCtx = 8, DMlp = 16, ActFn = ActivationFunction.Gelu,
        NormalizationType = Normalization.LN,
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("resume-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_run_interrupted_and_resumed_from_its_saved_state_equals_the_uninterrupted_run_bit_for_bit()
    {
        var options = TrainingOptions.Recommended("repeated-tokens", Small, seed: 5) with { Steps = 24, WarmupSteps = 4, ProgressEvery = 1 };
        var whole = Trainer.Train(Small, options);

        // Interrupted after step 10 (between steps, as Ctrl-C stops it); the last completed step is checkpointed.
        using var cancel = new CancellationTokenSource();
        var recipe = new Dictionary<string, string> { ["note"] = "test" };
        var interrupted = options with
        {
            CheckpointEvery = 7,
            Checkpoint = c =>
            {
                ModelFolder.Save(_dir, c.Weights);
                TrainingStateFile.Save(_dir, c, recipe);
            },
        };
        Trainer.Train(Small, interrupted, new Progress(p =>
        {
            if (p.Step == 10)
            {
                cancel.Cancel();
            }
        }), cancel.Token);

        using var folder = ModelFolder.Load(_dir);
        var (resume, saved) = TrainingStateFile.Load(_dir, folder.Weights);
        resume.Step.Should().Be(10);
        saved["note"].Should().Be("test");
        var resumed = Trainer.Train(Small, options, resume: resume);

        foreach (var ((name, expected), (_, actual)) in whole.ToStateDict().Zip(resumed.ToStateDict()))
        {
            actual.Span.ToArray().Should().Equal(expected.Span.ToArray(), name);
        }
    }

    [Fact]
    public void Train_resumes_a_finished_run_as_a_no_op_and_fine_tunes_on_a_tokens_file()
    {
        var model = Path.Combine(_dir, "model");
        Train("--layers", "1", "--heads", "2", "--d-model", "8", "--d-head", "4", "--vocab", "10", "--context", "8",
            "--task", "repeated-tokens", "--steps", "20", "--seed", "7", "--out", model);
        var trained = File.ReadAllBytes(Path.Combine(model, ModelFolder.SafetensorsFileName));
        File.Exists(Path.Combine(model, TrainingStateFile.FileName)).Should().BeTrue();

        Train("--resume", model).Should().Be($"nothing to resume: {model} finished its 20 steps\n");
        File.ReadAllBytes(Path.Combine(model, ModelFolder.SafetensorsFileName)).Should().Equal(trained, "a finished run has nothing left to do");

        // A counting sequence the random-token task never shows: fine-tuning on it lowers its loss.
        var data = Path.Combine(_dir, "counting.json");
        File.WriteAllText(data, "[[" + string.Join(", ", Enumerable.Range(0, 200).Select(i => i % 10)) + "]]");
        var tuned = Path.Combine(_dir, "tuned");
        Train("--resume", model, "--data", data, "--steps", "60", "--out", tuned);
        Loss(tuned).Should().BeLessThan(Loss(model) - 0.5);
    }

    [Theory]
    [InlineData(new[] { "--task", "bigram", "--data", "DATA" }, "give --task or --data, not both.")]
    [InlineData(new[] { "--task", "bigram" }, "--out is required: the model folder to write.")]
    [InlineData(new[] { "--data", "SHORT", "--out", "OUT" }, "The data has 3 tokens, fewer than one training sequence of n_ctx = 64.")]
    [InlineData(new[] { "--data", "OUTSIDE", "--out", "OUT" }, "Token 99 at offset 1 of the data is outside the vocabulary of 64.")]
    [InlineData(new[] { "--resume", "FRESH" }, "training-state.safetensors: missing: only a folder that `train` is writing")]
    public void Impossible_resumes_and_data_are_refused_with_the_reason(string[] args, string reason)
    {
        File.WriteAllText(Path.Combine(_dir, "short.json"), "[[1, 2, 3]]");
        File.WriteAllText(Path.Combine(_dir, "outside.json"), "[[1, 99, 3]]");
        var fresh = Path.Combine(_dir, "fresh");
        ModelFolder.Save(fresh, TransformerWeights.Zeros(Small));
        var resolved = args.Select(a => a switch
        {
            "DATA" or "SHORT" => Path.Combine(_dir, "short.json"),
            "OUTSIDE" => Path.Combine(_dir, "outside.json"),
            "OUT" => Path.Combine(_dir, "out"),
            "FRESH" => fresh,
            _ => a,
        });

        WrongWeightsErrors(["train", .. resolved]).Should().Contain(reason);
    }

    private static string WrongWeightsErrors(string[] args) => Reliability.WrongWeightsTests.OneLineError(args);

    private static string Train(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(["train", .. args]);
        code.Should().Be(0, stderr);
        return stdout;
    }

    private double Loss(string model)
    {
        var tokens = Path.Combine(_dir, "counting-tokens.json");
        File.WriteAllText(tokens, "[[" + string.Join(", ", Enumerable.Range(3, 8).Select(i => i % 10)) + "]]");
        var (code, stdout, stderr) = CliRunner.Run("loss", model, "--tokens", tokens, "--json");
        code.Should().Be(0, stderr);
        return System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("loss").GetDouble();
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
