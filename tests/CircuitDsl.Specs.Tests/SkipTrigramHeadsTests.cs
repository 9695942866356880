using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class SkipTrigramHeadsTests(TrainedModel<SkipTrigram1L> trained) : IClassFixture<TrainedModel<SkipTrigram1L>>
{
    private SkipTrigram1L Model => trained.Model;

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(SkipTrigramHeads.CheckAll(Model).ToText()));

    [Fact]
    public void Every_hypothesis_holds() => SkipTrigramHeads.CheckAll(Model).Should().HoldAll();

    [Fact]
    public void Head_0_3_carries_most_planted_skip_trigrams() => SkipTrigramHeads.SkipTrigramHead(Model).Should().Hold();

    [Fact]
    public void Head_0_1_carries_a_share_of_the_rest() => SkipTrigramHeads.SecondSkipTrigramHead(Model).Should().Hold();

    [Fact]
    public void Head_0_3_copies() => SkipTrigramHeads.CopyingHead(Model).Should().Hold();

    [Fact]
    public void The_direct_path_is_small() => SkipTrigramHeads.DirectPathIsSmall(Model).Should().Hold();

    [Fact]
    public void Each_heads_skip_trigram_term_is_as_claimed()
    {
        SkipTrigramHeads.Head02CarriesMostOfTheLogits(Model).Should().Hold();
        SkipTrigramHeads.Head02PredictsTheNextToken(Model).Should().Hold();
        SkipTrigramHeads.Head03PredictsTheNextToken(Model).Should().Hold();
        SkipTrigramHeads.Head00HardlyPredicts(Model).Should().Hold();
        SkipTrigramHeads.Head01HardlyPredicts(Model).Should().Hold();
    }
}
