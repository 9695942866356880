using CircuitDsl.Model;
using CircuitDsl.Tests.Weights;
using CircuitDsl.Training;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// Training cancelled at random steps, checkpointing every step as <c>circuitdsl train</c> does, while another
/// thread keeps loading the folder: every load sees a whole checkpoint, and the folder left behind holds exactly
/// the weights the trainer returned. (tests/fuzz/kill-train.sh does the same with SIGKILL on a real process.)
/// </summary>
public sealed class InterruptedTrainingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Cancelling_at_a_random_step_leaves_a_folder_that_loads_to_the_returned_weights(int seed)
    {
        var config = new ModelConfig
        {
            NLayers = 1, NHeads = 2, DModel = 16, DHead = 8, DVocab = 12, NCtx = 8, AttnOnly = true, PositionalEmbeddingType = PositionalEmbedding.Standard,
        };
        var dir = _temp.File($"run{seed}");
        var cancelAt = new Random(seed).Next(1, 40);
        using var cancel = new CancellationTokenSource();
        var options = TrainingOptions.Recommended("bigram", config, seed) with
        {
            Steps = 200, BatchSize = 4, Workers = 1, ProgressEvery = 1, CheckpointEvery = 1,
            Checkpoint = c => ModelFolder.Save(dir, c.Weights),
        };

        // A reader that loads the folder over and over while checkpoints replace it.
        var loads = 0;
        var readerErrors = new List<string>();
        using var stop = new CancellationTokenSource();
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!File.Exists(Path.Combine(dir, ModelFolder.ConfigFileName)))
                {
                    continue;
                }

                try
                {
                    using var folder = ModelFolder.Load(dir);
                    folder.Weights.ToStateDict().Sum(t => t.Value.Span[0]);
                    Interlocked.Increment(ref loads);
                }
                catch (WeightsFormatException e)
                {
                    readerErrors.Add(e.Message);
                }
            }
        });
        reader.Start();

        var weights = Trainer.Train(config, options, new Cancel(cancel, cancelAt), cancel.Token);
        ModelFolder.Save(dir, weights);
        // On a loaded machine a short run can end before the reader's first load: give it the final folder to read.
        SpinWait.SpinUntil(() => Volatile.Read(ref loads) > 0, TimeSpan.FromSeconds(30));
        stop.Cancel();
        reader.Join();

        readerErrors.Should().BeEmpty("a reader never sees a torn checkpoint");
        using var saved = ModelFolder.Load(dir);
        foreach (var (name, tensor) in weights.ToStateDict())
        {
            TensorAssert.Identical(saved.Weights.ToStateDict().Single(kv => kv.Key == name).Value, tensor, name);
        }

        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(["config.json", "model.safetensors"],
            "no temporary file is left behind");
        loads.Should().BeGreaterThan(0);
    }

    /// <summary>Cancels the token when the trainer reports step <paramref name="step"/>.</summary>
    private sealed class Cancel(CancellationTokenSource source, int step) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step == step)
            {
                source.Cancel();
            }
        }
    }
}
