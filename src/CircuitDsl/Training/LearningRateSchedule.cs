namespace CircuitDsl.Training;

/// <summary>How the learning rate moves after warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Stays at the peak.</summary>
    Constant,

    /// <summary>Falls linearly from the peak to the floor at the last step.</summary>
    Linear,

    /// <summary>Follows half a cosine from the peak to the floor at the last step.</summary>
    Cosine,
}

/// <summary>The learning rate at each step.</summary>
public static class LearningRates
{
    /// <summary>
    /// The learning rate for 1-based step <paramref name="step"/> of <paramref name="totalSteps"/>: linear
    /// warm-up <c>peak·step/warmup</c> over the first <paramref name="warmupSteps"/> steps, then the schedule
    /// from <c>peak</c> down to <c>peak·floorFraction</c> at the last step.
    /// </summary>
    public static float At(int step, int totalSteps, float peak, int warmupSteps, LearningRateSchedule schedule, float floorFraction)
    {
        if (step <= warmupSteps)
        {
            return peak * step / warmupSteps;
        }

        var span = totalSteps - warmupSteps;
        var progress = span <= 0 ? 1.0 : (double)(step - warmupSteps) / span;
        var floor = peak * floorFraction;
        return schedule switch
        {
            LearningRateSchedule.Constant => peak,
            LearningRateSchedule.Linear => (float)(floor + ((peak - floor) * (1 - progress))),
            LearningRateSchedule.Cosine => (float)(floor + ((peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress)))),
            _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "Unknown learning-rate schedule."),
        };
    }
}
