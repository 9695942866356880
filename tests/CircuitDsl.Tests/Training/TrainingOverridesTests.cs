using CircuitDsl.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

/// <summary>A task's recipe with someone's choices over it, merged in one place for the command line and the specs.</summary>
public sealed class TrainingOverridesTests
{
    private static readonly ModelConfig TwoLayers = new()
    {
        NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true, NormalizationType = Normalization.LN,
    };

    private static readonly TrainingOptions Recipe = TrainingOptions.Recommended("repeated-tokens", TwoLayers, seed: 0);

    [Fact]
    public void No_overrides_is_the_recipe()
    {
        Recipe.With(new TrainingOverrides()).Should().Be(Recipe);
    }

    [Fact]
    public void Each_given_field_replaces_the_recipes_and_the_others_stay()
    {
        var options = Recipe.With(new TrainingOverrides { Steps = 500, LearningRate = 1e-2f, WeightDecay = 0f });

        options.Should().Be(Recipe with { Steps = 500, LearningRate = 1e-2f, WeightDecay = 0f });
        options.BatchSize.Should().Be(16, "the repeated-tokens recipe's batch");
        options.WarmupSteps.Should().Be(100, "the recipe's warm-up fits in 500 steps");
    }

    [Fact]
    public void A_warm_up_longer_than_the_run_is_cut_to_the_run()
    {
        Recipe.With(new TrainingOverrides { Steps = 40 }).WarmupSteps.Should().Be(40);
        Recipe.With(new TrainingOverrides { Steps = 400, WarmupSteps = 1000 }).WarmupSteps.Should().Be(400);
    }

    [Fact]
    public void A_model_cards_zeros_mean_the_recipes_values()
    {
        var card = new TrainedOnAttribute("repeated-tokens") { Steps = 3000, Seed = 2 };
        TrainingOverrides.From(card).Should().Be(new TrainingOverrides { Steps = 3000 });

        var tuned = new TrainedOnAttribute("skip-trigram") { Steps = 1500, LearningRate = 0.003, BatchSize = 16 };
        TrainingOverrides.From(tuned).Should().Be(new TrainingOverrides { Steps = 1500, LearningRate = 0.003f, BatchSize = 16 });
    }
}
