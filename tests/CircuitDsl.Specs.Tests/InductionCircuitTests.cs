using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class InductionCircuitTests(TrainedModel<Induction2L> trained) : IClassFixture<TrainedModel<Induction2L>>
{
    private Induction2L Model => trained.Model;

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(InductionCircuit.CheckAll(Model).ToText()));

    [Fact]
    public void Every_hypothesis_holds() => InductionCircuit.CheckAll(Model).Should().HoldAll();

    [Fact]
    public void Previous_token_head() => InductionCircuit.PreviousTokenHead(Model).Should().Hold();

    [Fact]
    public void Induction_head() => InductionCircuit.InductionHead(Model).Should().Hold();

    [Fact]
    public void The_previous_token_head_is_no_induction_head() => InductionCircuit.PreviousTokenHeadIsNoInductionHead(Model).Should().Hold();

    [Fact]
    public void The_second_copy_of_a_repeated_sequence_is_predicted() => InductionCircuit.CheckAll(Model).Evidence
        .Single(e => e.Hypothesis == nameof(InductionCircuit.SecondCopyLoss)).Should().Hold();

    [Fact]
    public void K_composition() => InductionCircuit.KComposition(Model).Should().Hold();

    [Fact]
    public void No_Q_composition() => InductionCircuit.NoQComposition(Model).Should().Hold();

    [Fact]
    public void No_V_composition_from_the_previous_token_head() =>
        InductionCircuit.NoVCompositionFromPreviousTokenHead(Model).Should().Hold();

    [Fact]
    public void V_composition_from_another_layer_0_head() =>
        InductionCircuit.VCompositionFromAnotherLayerZeroHead(Model).Should().Hold();

    [Fact]
    public void Induction_head_copies() => InductionCircuit.InductionHeadCopies(Model).Should().Hold();

    [Fact]
    public void Previous_token_head_matters() => InductionCircuit.PreviousTokenHeadMatters(Model).Should().Hold();

    [Fact]
    public void Induction_head_matters() => InductionCircuit.InductionHeadMatters(Model).Should().Hold();

    [Fact]
    public void Faithful() => InductionCircuit.Faithful(Model).Should().Hold();

    [Fact]
    public void Faithful_with_value_source() => InductionCircuit.FaithfulWithValueSource(Model).Should().Hold();

    [Fact]
    public void Term_importance_by_order() => new[] { InductionCircuit.DirectPathRecoversNothing(Model), InductionCircuit.SingleHeadsRecoverTheLoss(Model) }
        .Should().AllSatisfy(e => e.Should().Hold());

    [Fact]
    public void The_induction_heads_term_and_the_virtual_head_composition_points_to()
    {
        InductionCircuit.InductionHeadTermPredicts(Model).Should().Hold();
        InductionCircuit.VirtualHeadThroughValueSourcePredicts(Model).Should().Hold();
        InductionCircuit.VirtualHeadThroughValueSourceIsSmall(Model).Should().Hold();
    }

    [Fact]
    public void The_report_says_which_weights_it_measured() =>
        InductionCircuit.CheckAll(Model).WeightProcessing.Should().Be("fold_ln, center_writing_weights, center_unembed, fold_value_biases");
}
