using CircuitDsl.Tasks;
using CircuitDsl.Model;

namespace CircuitDsl.Training;

/// <summary>Everything that decides a training run besides the architecture. Same options and seed → same weights.</summary>
public sealed record TrainingOptions
{
    /// <summary>The generator of training sequences (its own parameters are set on it).</summary>
    public required TrainingTask Task { get; init; }

    /// <summary>The number of optimizer steps.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Sequences per step; each is <c>n_ctx</c> tokens long.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The peak learning rate (reached at the end of warm-up).</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Decoupled weight decay, applied to the parameters <see cref="AdamW.Decays"/> names.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Adam's first-moment decay.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Adam's second-moment decay.</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Steps of linear warm-up from zero to <see cref="LearningRate"/>.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>The shape of the learning rate after warm-up.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Where <see cref="Schedule"/> ends, as a fraction of <see cref="LearningRate"/>.</summary>
    public float FinalLearningRateFraction { get; init; } = 0.1f;

    /// <summary>Clip the global gradient norm to this value (PyTorch's <c>clip_grad_norm_</c>); null for no clipping.</summary>
    public float? GradientClip { get; init; } = 1f;

    /// <summary>Seeds the initial weights and the training data.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// The standard deviation of the initial weights; null for TransformerLens's <c>0.8 / sqrt(d_model)</c>
    /// (see <see cref="Initialization.TransformerLensDefault"/>).
    /// </summary>
    public double? InitializerRange { get; init; }

    /// <summary>
    /// Threads that each take a fixed, contiguous share of every batch. Their gradients are summed in worker
    /// order, so a run is bit-for-bit reproducible for a given worker count (not across worker counts).
    /// </summary>
    public int Workers { get; init; } = 2;

    /// <summary>Report progress every this many steps (and at the last step).</summary>
    public int ProgressEvery { get; init; } = 10;

    /// <summary>Call <see cref="Checkpoint"/> every this many steps; 0 for never.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>
    /// Called on the training thread between steps, every <see cref="CheckpointEvery"/> steps, with the current
    /// weights — e.g. to save them with <c>ModelFolder.Save</c>. Training waits for it; the weights must not be
    /// kept past the call (clone what you keep).
    /// </summary>
    public Action<TrainingCheckpoint>? Checkpoint { get; init; }

    /// <summary>
    /// The recipe this project uses for <paramref name="taskName"/> on <paramref name="config"/>: the task with
    /// its default parameters and the steps, batch, learning rate and schedule that were measured to form the
    /// task's circuit (see the task classes). The seed also fixes the task's drawn structure.
    /// </summary>
    /// <remarks>
    /// <c>repeated-tokens</c>: batch 16, peak learning rate 3e-3, 100 warm-up steps, cosine to 0.1×, weight
    /// decay 0.01, clip 1, 4,000 steps. Measured with <c>circuitdsl train</c> on the 2-layer, 4-head, d_model-64,
    /// vocab-64, n_ctx-64 attention-only model with <c>normalization_type = LN</c> (specs/CircuitDsl.Specs/weights/README.md):
    /// seed 0 reaches previous-token 0.90 in layer 0 and induction 0.89–0.96 in all four layer-1 heads (at 2,000
    /// steps its best previous-token head was only 0.57); seed 2 reaches 0.96 and 0.90–0.95. Seed 1 forms the
    /// induction heads (0.81–0.88) but its best previous-token head stays at 0.63 (0.59 after 6,000 steps; 0.41 with
    /// learning rate 1e-3, which also weakens induction to 0.61–0.76): its previous-token attention is spread over
    /// several layer-0 heads, so previous-token &gt; 0.7 held on two seeds of three. Without LayerNorm seed 0 at 4,000
    /// steps reached only 0.52 previous-token and 0.73–0.77 induction: use LN. About 8 minutes on two lightly loaded
    /// cores (13 with another training beside it).
    /// </remarks>
    public static TrainingOptions Recommended(string taskName, ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        var task = TrainingTask.Create(taskName, config.DVocab, seed);
        return task switch
        {
            BigramTask => new TrainingOptions
            {
                Task = task, Steps = 1000, BatchSize = 32, LearningRate = 3e-2f, WeightDecay = 0f, WarmupSteps = 20, Seed = seed,
            },
            SkipTrigramTask => new TrainingOptions
            {
                Task = task, Steps = 1500, BatchSize = 32, LearningRate = 3e-3f, WarmupSteps = 50, Seed = seed,
            },
            _ => new TrainingOptions
            {
                Task = task, Steps = 4000, BatchSize = 16, LearningRate = 3e-3f, WarmupSteps = 100, Seed = seed,
            },
        };
    }

    /// <summary>
    /// These options with every hyperparameter <paramref name="overrides"/> gives replacing this one; a warm-up longer
    /// than the run is cut to the run.
    /// </summary>
    public TrainingOptions With(TrainingOverrides overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var steps = overrides.Steps ?? Steps;
        return this with
        {
            Steps = steps,
            LearningRate = overrides.LearningRate ?? LearningRate,
            BatchSize = overrides.BatchSize ?? BatchSize,
            WeightDecay = overrides.WeightDecay ?? WeightDecay,
            WarmupSteps = Math.Min(overrides.WarmupSteps ?? WarmupSteps, steps),
        };
    }

    /// <summary>Every reason these options cannot train <paramref name="config"/>, as sentences; empty when they can.</summary>
    public IReadOnlyList<string> Problems(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = new List<string>(config.Problems());
        if (Task.Vocab != config.DVocab)
        {
            problems.Add($"The task '{Task.Name}' has {Task.Vocab} tokens but the model has d_vocab = {config.DVocab}.");
        }

        if (config.NCtx < 2)
        {
            problems.Add($"n_ctx must be at least 2 to predict a next token (got {config.NCtx}).");
        }

        void Positive(string name, double value)
        {
            if (!(value > 0))
            {
                problems.Add($"{name} must be positive (got {value}).");
            }
        }

        Positive("steps", Steps);
        Positive("batch size", BatchSize);
        Positive("learning rate", LearningRate);
        Positive("workers", Workers);
        Positive("progress interval", ProgressEvery);
        if (Task is TokenStreamTask data && data.Length < config.NCtx)
        {
            problems.Add($"The data has {data.Length} tokens, fewer than one training sequence of n_ctx = {config.NCtx}.");
        }

        if (WeightDecay < 0 || WarmupSteps < 0 || CheckpointEvery < 0 || FinalLearningRateFraction < 0 || GradientClip <= 0)
        {
            problems.Add("Weight decay, warm-up, checkpoint interval and final learning-rate fraction must not be negative, and a gradient clip must be positive.");
        }

        return problems;
    }
}

/// <summary>A progress report: where training is and how fast it goes.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Mean next-token loss of the last step's batch (natural log).</param>
/// <param name="AverageLoss">Mean of the batch losses since the previous report.</param>
/// <param name="LearningRate">The learning rate of the last step.</param>
/// <param name="GradientNorm">The global gradient norm of the last step, before clipping.</param>
/// <param name="TokensPerSecond">Training tokens (batch × n_ctx per step) processed per second so far.</param>
/// <param name="Elapsed">Wall time since training started.</param>
public sealed record TrainingProgress(
    int Step, int TotalSteps, float Loss, float AverageLoss, float LearningRate, float GradientNorm, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>The weights and the optimizer at a checkpoint; valid only during the callback.</summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Weights">The live weights (clone to keep).</param>
/// <param name="Loss">The last step's batch loss.</param>
/// <param name="Optimizer">The live optimizer, whose <see cref="AdamW.Moments"/> a resumable checkpoint saves.</param>
public sealed record TrainingCheckpoint(int Step, TransformerWeights Weights, float Loss, AdamW Optimizer);

/// <summary>
/// Where <see cref="Trainer.Train"/> starts instead of fresh weights: an interrupted run's <see cref="TrainingCheckpoint"/>
/// as saved (continued bit for bit), or, with step 0 and no moments, trained weights to fine-tune.
/// </summary>
/// <param name="Step">Steps completed.</param>
/// <param name="Weights">The weights after that step.</param>
/// <param name="Moments">The optimizer's moment estimates after that step (<see cref="AdamW.Moments"/>); null for a fresh optimizer.</param>
public sealed record TrainingResume(int Step, TransformerWeights Weights, IReadOnlyDictionary<string, Tensors.Tensor>? Moments);
