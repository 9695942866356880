using System.Diagnostics;
using System.Globalization;
using CircuitDsl.Facade;
using CircuitDsl.Model;
using CircuitDsl.Training;
using Spectre.Console;

namespace CircuitDsl.Cli.Application;

/// <summary>
/// Training with a task's recipe and someone's overrides (<see cref="TrainingOptions.With"/>), with progress on the
/// command line: what <c>train</c> and <c>demo --train</c> share.
/// </summary>
internal static class ModelTraining
{
    /// <summary>The recipe for <paramref name="task"/> on <paramref name="config"/>, with <paramref name="overrides"/> over it.</summary>
    public static TrainingOptions Options(string task, ModelConfig config, int seed, TrainingOverrides overrides) =>
        TrainingOptions.Recommended(task, config, seed).With(overrides);

    /// <summary>
    /// The architecture and options a model spec's <see cref="TrainedOnAttribute"/> says its weights of
    /// <paramref name="seed"/> were trained with.
    /// </summary>
    /// <exception cref="UsageException">The spec has no model card.</exception>
    public static (ModelConfig Config, TrainingOptions Options) Recipe(ModelEntry model, int seed)
    {
        var card = model.TrainedOn() ?? throw new UsageException($"{model.Name} has no [TrainedOn] recipe to train with.");
        return (model.Config with { Seed = seed }, Options(card.Task, model.Config, seed, TrainingOverrides.From(card)));
    }

    /// <summary>Trains with a live progress bar on a terminal, or a line per tenth of the run otherwise.</summary>
    public static TransformerWeights Run(TextWriter output, ModelConfig config, TrainingOptions options, CancellationToken cancel,
        TrainingResume? resume = null)
    {
        var watch = Stopwatch.StartNew();
        TrainingProgress? last = null;
        string Describe(TrainingProgress p) => string.Create(CultureInfo.InvariantCulture,
            $"step {p.Step}/{p.TotalSteps}  loss {p.AverageLoss:F3}  {p.TokensPerSecond:N0} tok/s");

        TransformerWeights weights;
        if (output == Console.Out && !Console.IsOutputRedirected)
        {
            weights = AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var bar = context.AddTask($"training {options.Task.Name}", maxValue: options.Steps);
                    return Trainer.Train(config, options, new Reporter(p =>
                    {
                        last = p;
                        bar.Value = p.Step;
                        bar.Description = Describe(p);
                    }), cancel, resume);
                });
        }
        else
        {
            var every = Math.Max(options.Steps / 10, 1);
            weights = Trainer.Train(config, options, new Reporter(p =>
            {
                last = p;
                if (p.Step % every == 0 || p.Step == p.TotalSteps)
                {
                    output.WriteLine(Describe(p));
                }
            }), cancel, resume);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trained {last?.Step ?? 0} steps in {watch.Elapsed.TotalSeconds:F1} s; final loss {last?.AverageLoss:F3}"));
        return weights;
    }

    /// <summary>Reports synchronously on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
