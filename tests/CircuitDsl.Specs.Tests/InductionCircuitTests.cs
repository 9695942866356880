using CircuitDsl.Assertions;
using CircuitDsl.Reports;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class InductionCircuitTests(TrainedSeeds<Induction2L> trained) : IClassFixture<TrainedSeeds<Induction2L>>
{
    private SeedReport Check() => trained.Check(InductionCircuit.Documentation, InductionCircuit.CheckAll);

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(Check().ToText()));

    [Fact]
    public void The_model_is_trained_on_five_seeds_or_more() => trained.Seeds.Should().HaveCountGreaterThanOrEqualTo(5).And.OnlyHaveUniqueItems();

    [Fact]
    public void Every_hypothesis_holds_on_the_seeds_it_asks_for() => Check().Should().HoldAll();

    [Fact]
    public void A_claim_that_names_no_number_of_seeds_holds_on_every_seed()
    {
        var unnamed = InductionCircuit.Documentation.Hypotheses.Where(h => h.OnSeeds == 0).Select(h => h.Name).ToHashSet();
        var claims = Check().Claims.Where(c => unnamed.Contains(c.Hypothesis)).ToList();

        claims.Should().NotBeEmpty().And.OnlyContain(c => c.Required == trained.Seeds.Count && c.Holding == trained.Seeds.Count);
    }

    [Fact]
    public void The_report_says_which_weights_it_measured() =>
        Check().Reports.Select(r => r.WeightProcessing).Should().AllBe("fold_ln, center_writing_weights, center_unembed, fold_value_biases");
}
