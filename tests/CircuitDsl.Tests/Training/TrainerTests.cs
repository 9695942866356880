using CircuitDsl.Tasks;
using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

public sealed class TrainerTests
{
    private static readonly ModelConfig Bigram = new()
    {
        NLayers = 0, DModel = 16, DVocab = 12, NCtx = 16, AttnOnly = true,
    };

    private static readonly ModelConfig Small = new()
    {
        NLayers = 2, NHeads = 2, DModel = 8, DHead = 4, DVocab = 16, NCtx = 8, DMlp = 16, ActFn = ActivationFunction.Gelu, NormalizationType = Normalization.LN,
    };

    [Fact]
    public void A_zero_layer_model_trained_on_bigram_recovers_the_chain()
    {
        var options = TrainingOptions.Recommended("bigram", Bigram, seed: 3);
        var weights = Trainer.Train(Bigram, options);

        var chain = (BigramTask)options.Task;
        var learned = new List<double>();
        var truth = new List<double>();
        for (var a = 0; a < Bigram.DVocab; a++)
        {
            var logits = new double[Bigram.DVocab];
            for (var b = 0; b < Bigram.DVocab; b++)
            {
                logits[b] = weights.b_U.Span[b];
                for (var i = 0; i < Bigram.DModel; i++)
                {
                    logits[b] += weights.W_E[a, i] * weights.W_U[i, b];
                }
            }

            var lse = Math.Log(logits.Sum(l => Math.Exp(l)));
            learned.AddRange(logits.Select(l => l - lse));
            truth.AddRange(chain.Transitions[a].Select(p => Math.Log(p)));
        }

        Correlation(learned, truth).Should().BeGreaterThan(0.95);
    }

    [Fact]
    public void The_same_seed_gives_bit_identical_weights_and_another_seed_does_not()
    {
        var options = new TrainingOptions { Task = new RepeatedTokensTask(Small.DVocab), Steps = 12, BatchSize = 5, WarmupSteps = 3, Seed = 9 };

        var first = Bytes(Trainer.Train(Small, options));
        var second = Bytes(Trainer.Train(Small, options));
        var other = Bytes(Trainer.Train(Small, options with { Seed = 10 }));

        second.Should().Equal(first);
        other.Should().NotEqual(first);
    }

    [Fact]
    public void Training_lowers_the_loss_and_reports_progress_and_checkpoints()
    {
        var reports = new List<TrainingProgress>();
        var checkpoints = new List<int>();
        var options = TrainingOptions.Recommended("skip-trigram", Small, seed: 1) with
        {
            Steps = 60, ProgressEvery = 20, CheckpointEvery = 30, Checkpoint = c => checkpoints.Add(c.Step),
        };

        var weights = Trainer.Train(Small, options, new SyncProgress(reports.Add));

        weights.Config.Seed.Should().Be(1);
        reports.Select(r => r.Step).Should().Equal(20, 40, 60);
        checkpoints.Should().Equal(30, 60);
        reports[^1].AverageLoss.Should().BeLessThan(reports[0].AverageLoss);
        reports.Should().OnlyContain(r => r.TokensPerSecond > 0 && r.TotalSteps == 60);
    }

    [Fact]
    public void Cancellation_returns_the_weights_of_the_last_completed_step()
    {
        using var cts = new CancellationTokenSource();
        byte[]? atStep3 = null;
        var options = new TrainingOptions
        {
            Task = new RepeatedTokensTask(Small.DVocab), Steps = 50, BatchSize = 4, ProgressEvery = 1, CheckpointEvery = 1,
            Checkpoint = c => atStep3 = c.Step == 3 ? Bytes(c.Weights) : atStep3,
        };

        var weights = Trainer.Train(Small, options, new SyncProgress(p =>
        {
            if (p.Step == 3)
            {
                cts.Cancel();
            }
        }), cts.Token);

        Bytes(weights).Should().Equal(atStep3);
    }

    [Fact]
    public void Options_that_cannot_train_the_model_are_refused_with_the_reason()
    {
        var options = new TrainingOptions { Task = new RepeatedTokensTask(99), BatchSize = 0 };

        var act = () => Trainer.Train(Small, options);

        act.Should().Throw<ArgumentException>().WithMessage("*99 tokens*d_vocab = 16*").And.Message.Should().Contain("batch size");
    }

    [Fact]
    public void AdamW_matches_a_hand_computed_update_with_decay_only_on_matrices()
    {
        var config = new ModelConfig { NLayers = 0, DModel = 1, DVocab = 2, NCtx = 1, AttnOnly = true };
        var weights = TransformerWeights.Zeros(config);
        weights.W_E.Span.Fill(1f);
        weights.W_U.Span.Fill(2f);
        var grad = TransformerWeights.Zeros(config);
        var adam = new AdamW(weights);
        const double lr = 0.1, wd = 0.5, b1 = 0.9, b2 = 0.999, eps = 1e-8;

        grad.W_E.Span.Fill(0.3f);
        grad.W_U.Span.Fill(-0.2f);
        adam.Step(grad, (float)lr, (float)wd);
        grad.W_E.Span.Fill(-0.1f);
        grad.W_U.Span.Fill(0.4f);
        adam.Step(grad, (float)lr, (float)wd);

        static double Expected(double p, double g1, double g2, bool decay)
        {
            double m = 0, v = 0;
            var t = 0;
            foreach (var g in new[] { g1, g2 })
            {
                t++;
                p *= decay ? 1 - (lr * wd) : 1;
                m = (b1 * m) + ((1 - b1) * g);
                v = (b2 * v) + ((1 - b2) * g * g);
                p -= lr / (1 - Math.Pow(b1, t)) * m / ((Math.Sqrt(v) / Math.Sqrt(1 - Math.Pow(b2, t))) + eps);
            }

            return p;
        }

        ((double)weights.W_E[0, 0]).Should().BeApproximately(Expected(1, 0.3, -0.1, decay: false), 1e-6);
        ((double)weights.W_U[0, 1]).Should().BeApproximately(Expected(2, -0.2, 0.4, decay: true), 1e-6);
        weights.b_U.Span[0].Should().Be(0f, "a zero gradient leaves an undecayed bias where it is");
        AdamW.Decays("blocks.0.attn.W_Q").Should().BeTrue();
        AdamW.Decays("blocks.0.attn.b_Q").Should().BeFalse();
        AdamW.Decays("blocks.0.ln1.w").Should().BeFalse();
        AdamW.Decays("pos_embed.W_pos").Should().BeFalse();
    }

    [Fact]
    public void The_learning_rate_warms_up_linearly_then_decays_to_the_floor()
    {
        LearningRates.At(5, 110, 1f, 10, LearningRateSchedule.Cosine, 0.1f).Should().BeApproximately(0.5f, 1e-6f);
        LearningRates.At(10, 110, 1f, 10, LearningRateSchedule.Cosine, 0.1f).Should().BeApproximately(1f, 1e-6f);
        LearningRates.At(60, 110, 1f, 10, LearningRateSchedule.Cosine, 0.1f).Should().BeApproximately(0.55f, 1e-6f);
        LearningRates.At(110, 110, 1f, 10, LearningRateSchedule.Cosine, 0.1f).Should().BeApproximately(0.1f, 1e-6f);
        LearningRates.At(35, 110, 1f, 10, LearningRateSchedule.Linear, 0f).Should().BeApproximately(0.75f, 1e-6f);
        LearningRates.At(100, 110, 1f, 10, LearningRateSchedule.Constant, 0f).Should().Be(1f);
    }

    [Fact]
    public void TransformerLens_initialisation_draws_matrices_with_std_0_8_over_sqrt_d_model_and_zero_biases()
    {
        var config = new ModelConfig { NLayers = 1, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.LN };
        var weights = Initialization.TransformerLensDefault(config, seed: 5);

        var wq = weights.Blocks[0].W_Q.Span.ToArray();
        var std = Math.Sqrt(wq.Select(x => (double)x * x).Average());
        std.Should().BeApproximately(0.1, 0.004);
        weights.Blocks[0].b_Q.Span.ToArray().Should().OnlyContain(x => x == 0f);
        weights.Blocks[0].Ln1W!.Span.ToArray().Should().OnlyContain(x => x == 1f);
    }

    internal static byte[] Bytes(TransformerWeights w) =>
        w.ToStateDict().SelectMany(kv => kv.Value.Span.ToArray()).SelectMany(BitConverter.GetBytes).ToArray();

    private static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }

        return sxy / Math.Sqrt(sxx * syy);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
