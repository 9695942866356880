using CircuitDsl.Tasks;
using System.Diagnostics;
using System.Numerics.Tensors;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Training;

/// <summary>Trains a transformer from scratch on a <see cref="TrainingTask"/> with AdamW.</summary>
public static class Trainer
{
    /// <summary>
    /// The seed of the <see cref="Random"/> the training sequences of a run with <paramref name="seed"/> are drawn from.
    /// Held-out data (<see cref="Circuits.HeldOut"/>) is drawn from streams of other seeds.
    /// </summary>
    public static int DataSeed(int seed) => unchecked((seed * 1_000_003) + 12_345);

    /// <summary>
    /// Initialises a model of <paramref name="config"/> (<see cref="Initialization.TransformerLensDefault"/>)
    /// and trains it for <see cref="TrainingOptions.Steps"/> steps. Each step draws a batch from the task
    /// (sequences of <c>n_ctx</c> tokens), splits it across <see cref="TrainingOptions.Workers"/> threads,
    /// sums their gradients of the mean next-token loss in worker order, clips the global norm, and takes an
    /// <see cref="AdamW"/> step at the scheduled learning rate.
    /// </summary>
    /// <returns>
    /// The trained weights, whose config records the seed. When <paramref name="cancellationToken"/> fires,
    /// training stops between steps and the weights after the last completed step are returned.
    /// </returns>
    /// <exception cref="ArgumentException">The options cannot train this config (the message lists why).</exception>
    /// <remarks>
    /// With <paramref name="resume"/>, training starts after its step from its weights and optimizer state, and the
    /// data generator first draws (and drops) the batches of the steps already taken, so the run ends with the same
    /// bits as one never interrupted.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite (the message names the step).</exception>
    public static TransformerWeights Train(
        ModelConfig config, TrainingOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default,
        TrainingResume? resume = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems(config);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Cannot train: " + string.Join(" ", problems), nameof(options));
        }

        config = config with { Seed = options.Seed };
        if (resume is not null && (resume.Step < 0 || resume.Step > options.Steps || resume.Weights.Config with { Seed = options.Seed } != config))
        {
            throw new ArgumentException(
                $"Cannot resume at step {resume.Step} of {options.Steps} with weights of another architecture or beyond the run.", nameof(resume));
        }

        var weights = resume is null
            ? Initialization.TransformerLensDefault(config, options.Seed, options.InitializerRange)
            : TransformerWeights.FromStateDict(config, resume.Weights.ToStateDict().ToDictionary(t => t.Key, t => t.Value.Clone()), "<resumed>");
        var workers = Math.Min(options.Workers, options.BatchSize);
        // Several workers side by side multiply on one thread each (Gemm.Serial): OpenBLAS's two-thread pool, called
        // from both, made a step 4-10x slower on a 2-core VM (tests/benchmarks/README.md).
        var gemm = workers > 1 ? Gemm.Serial : null;
        var passes = Enumerable.Range(0, workers).Select(_ => new TrainingPass(config, gemm)).ToArray();
        var gradients = Enumerable.Range(0, workers).Select(_ => TrainingPass.ZeroGradient(config)).ToArray();
        var gradientTensors = gradients.Select(g => g.ToStateDict().Select(kv => kv.Value).ToArray()).ToArray();
        var losses = new double[workers];
        var optimizer = new AdamW(weights, options.Beta1, options.Beta2);
        var dataRng = new Random(DataSeed(options.Seed));
        var length = config.NCtx;
        var batch = new int[options.BatchSize][];
        if (resume is not null)
        {
            if (resume.Moments is not null)
            {
                optimizer.Restore(resume.Moments, resume.Step);
            }

            for (var skipped = 0; skipped < resume.Step * batch.Length; skipped++)
            {
                options.Task.Sample(dataRng, length);
            }
        }

        var shares = Enumerable.Range(0, workers + 1).Select(w => w * options.BatchSize / workers).ToArray();
        var lossScale = 1f / (options.BatchSize * (length - 1));
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers };
        var clock = Stopwatch.StartNew();
        double lossSinceReport = 0;
        var stepsSinceReport = 0;

        var completed = resume?.Step ?? 0;
        var checkpointed = completed;
        float lastLoss = float.NaN;
        for (var step = completed + 1; step <= options.Steps; step++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            for (var s = 0; s < batch.Length; s++)
            {
                batch[s] = options.Task.Sample(dataRng, length);
            }

            Parallel.For(0, workers, parallel, w =>
            {
                foreach (var t in gradientTensors[w])
                {
                    t.Span.Clear();
                }

                var share = new ArraySegment<int[]>(batch, shares[w], shares[w + 1] - shares[w]);
                losses[w] = passes[w].Forward(weights, share);
                passes[w].Backward(gradients[w], lossScale);
            });

            // Fixed-order reduction: worker 0's buffers receive 1, 2, … in turn.
            for (var w = 1; w < workers; w++)
            {
                for (var t = 0; t < gradientTensors[0].Length; t++)
                {
                    var acc = gradientTensors[0][t].Span;
                    TensorPrimitives.Add(acc, gradientTensors[w][t].Span, acc);
                }
            }

            var loss = (float)(losses.Sum() / (options.BatchSize * (length - 1)));
            if (!float.IsFinite(loss))
            {
                throw new InvalidOperationException(
                    $"The training loss became {loss} at step {step}; try a lower learning rate or a gradient clip.");
            }

            var norm = GlobalNorm(gradientTensors[0]);
            if (options.GradientClip is { } clip && norm > clip)
            {
                var coefficient = clip / (norm + 1e-6f);
                foreach (var t in gradientTensors[0])
                {
                    TensorPrimitives.Multiply(t.Span, coefficient, t.Span);
                }
            }

            var lr = LearningRates.At(step, options.Steps, options.LearningRate, options.WarmupSteps, options.Schedule, options.FinalLearningRateFraction);
            optimizer.Step(gradients[0], lr, options.WeightDecay);

            lossSinceReport += loss;
            stepsSinceReport++;
            if (progress is not null && (step % options.ProgressEvery == 0 || step == options.Steps))
            {
                var elapsed = clock.Elapsed;
                progress.Report(new TrainingProgress(step, options.Steps, loss, (float)(lossSinceReport / stepsSinceReport), lr, norm,
                    (double)step * options.BatchSize * length / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed));
                lossSinceReport = 0;
                stepsSinceReport = 0;
            }

            completed = step;
            lastLoss = loss;
            if (options.Checkpoint is not null && options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0)
            {
                options.Checkpoint(new TrainingCheckpoint(step, weights, loss, optimizer));
                checkpointed = step;
            }
        }

        // The last completed step (the end, or where a cancellation stopped the run) is always a checkpoint.
        if (options.Checkpoint is not null && options.CheckpointEvery > 0 && checkpointed != completed)
        {
            options.Checkpoint(new TrainingCheckpoint(completed, weights, lastLoss, optimizer));
        }

        return weights;
    }

    /// <summary>The L2 norm of all gradient entries together, summed in a fixed order.</summary>
    private static float GlobalNorm(IEnumerable<Tensors.Tensor> tensors)
    {
        double sum = 0;
        foreach (var t in tensors)
        {
            sum += TensorPrimitives.SumOfSquares(t.Span);
        }

        return (float)Math.Sqrt(sum);
    }
}
