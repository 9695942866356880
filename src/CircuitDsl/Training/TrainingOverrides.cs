namespace CircuitDsl.Training;

/// <summary>
/// The hyperparameters someone chose over a task's recipe (<see cref="TrainingOptions.Recommended"/>): each null
/// field keeps the recipe's value. <see cref="TrainingOptions.With"/> applies them; the command line's options and a
/// spec's <see cref="TrainedOnAttribute"/> both become one of these.
/// </summary>
public sealed record TrainingOverrides
{
    /// <summary>Optimizer steps.</summary>
    public int? Steps { get; init; }

    /// <summary>Peak learning rate.</summary>
    public float? LearningRate { get; init; }

    /// <summary>Sequences per step.</summary>
    public int? BatchSize { get; init; }

    /// <summary>AdamW weight decay.</summary>
    public float? WeightDecay { get; init; }

    /// <summary>Warm-up steps (cut to the run's steps when longer).</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>
    /// What a spec's model card chose: its steps, and its learning rate and batch size where it gives them (the
    /// attribute writes 0 for "the recipe's").
    /// </summary>
    public static TrainingOverrides From(TrainedOnAttribute card)
    {
        ArgumentNullException.ThrowIfNull(card);
        return new TrainingOverrides
        {
            Steps = card.Steps > 0 ? card.Steps : null,
            LearningRate = card.LearningRate > 0 ? (float)card.LearningRate : null,
            BatchSize = card.BatchSize > 0 ? card.BatchSize : null,
        };
    }
}
