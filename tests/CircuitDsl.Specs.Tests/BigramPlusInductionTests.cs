using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class BigramPlusInductionTests(TrainedSeeds<BigramPlusInduction> composite) : IClassFixture<TrainedSeeds<BigramPlusInduction>>
{
    private BigramPlusInduction Model => composite.Models.Single();

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(BigramPlusInductionClaims.CheckAll(Model).ToText()));

    [Fact]
    public void The_composite_beats_both_parents_on_held_out_mixed_text() => BigramPlusInductionClaims.CheckAll(Model).Should().HoldAll();
}
