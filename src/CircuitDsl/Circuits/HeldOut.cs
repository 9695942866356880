using CircuitDsl.Model;
using CircuitDsl.Tasks;

namespace CircuitDsl.Circuits;

/// <summary>
/// Held-out data for the claims measured on a task's loss (ablation, faithfulness): fresh samples of the task's own
/// generator, drawn from two seeded streams of their own — one the means of mean-ablation are taken on, one the losses
/// are measured on — so neither is the training data (drawn from <see cref="Training.Trainer.DataSeed"/> of the
/// model's seed) nor the other.
/// </summary>
public static class HeldOut
{
    /// <summary>The seed of the stream the means of mean-ablation are taken on.</summary>
    public const int MeanSeed = 0x4D45414E;

    /// <summary>The seed of the stream the losses are measured on.</summary>
    public const int EvaluationSeed = 0x4556414C;

    /// <summary>How many sequences each held-out batch has.</summary>
    public const int Sequences = 64;

    /// <summary>
    /// The two held-out batches of <paramref name="task"/> for a model of <paramref name="config"/>: <see cref="Sequences"/>
    /// sequences of <c>n_ctx</c> tokens each from <c>new Random(MeanSeed)</c> and from <c>new Random(EvaluationSeed)</c>.
    /// A task with planted structure (the bigram chain, the skip-trigram table) is drawn with the model's own seed
    /// (<c>config.seed</c>, 0 when the config names none), the structure its weights were trained on.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="task"/> is not a task's name.</exception>
    public static (int[][] Mean, int[][] Evaluation) Batches(string task, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var generator = TrainingTask.Create(task, config.DVocab, config.Seed ?? 0);
        return (generator.Batch(Sequences, config.NCtx, MeanSeed), generator.Batch(Sequences, config.NCtx, EvaluationSeed));
    }
}
