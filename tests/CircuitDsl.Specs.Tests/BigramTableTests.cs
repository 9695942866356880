using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class BigramTableTests(TrainedSeeds<Bigram0L> trained) : IClassFixture<TrainedSeeds<Bigram0L>>
{
    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(trained.Check(BigramTable.Documentation, BigramTable.CheckAll).ToText()));

    [Fact]
    public void Every_hypothesis_holds_on_the_seeds_it_asks_for() =>
        trained.Check(BigramTable.Documentation, BigramTable.CheckAll).Should().HoldAll();

    [Fact]
    public void Each_seed_is_compared_with_the_chain_its_own_seed_drew()
    {
        var report = trained.Check(BigramTable.Documentation, BigramTable.CheckAll);

        // The bigram fit and the path claims alike: each seed's model is measured on its own chain.
        report.Claims.Should().HaveCountGreaterThan(1);
        foreach (var claim in report.Claims)
        {
            claim.PerSeed.Select(p => p.Evidence.Detail).Should().SatisfyRespectively(
                trained.Seeds.Select(s => (Action<string>)(d => d.Should().MatchRegex($@"seed {s}[;)]"))), claim.Hypothesis);
        }
    }
}
