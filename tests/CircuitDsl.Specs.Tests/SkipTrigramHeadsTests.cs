using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class SkipTrigramHeadsTests(TrainedSeeds<SkipTrigram1L> trained) : IClassFixture<TrainedSeeds<SkipTrigram1L>>
{
    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(trained.Check(SkipTrigramHeads.Documentation, SkipTrigramHeads.CheckAll).ToText()));

    [Fact]
    public void Every_hypothesis_holds_on_the_seeds_it_asks_for() =>
        trained.Check(SkipTrigramHeads.Documentation, SkipTrigramHeads.CheckAll).Should().HoldAll();
}
