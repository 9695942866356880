using CircuitDsl.Assertions;
using CircuitDsl.Testing;

namespace CircuitDsl.Specs.Tests;

public sealed class BigramTableTests(TrainedModel<Bigram0L> trained) : IClassFixture<TrainedModel<Bigram0L>>
{
    private Bigram0L Model => trained.Model;

    [Fact]
    public void Report() => Snapshot.Verify(StableText.Of(BigramTable.CheckAll(Model).ToText()));

    [Fact]
    public void Every_hypothesis_holds() => BigramTable.CheckAll(Model).Should().HoldAll();

    [Fact]
    public void The_direct_path_is_the_bigram_table() => BigramTable.DirectPathIsTheBigramTable(Model).Should().Hold();

    [Fact]
    public void The_direct_path_carries_the_logits() => BigramTable.DirectPathCarriesTheLogits(Model).Should().Hold();

    [Fact]
    public void The_direct_path_raises_the_next_token() => BigramTable.DirectPathRaisesTheNextToken(Model).Should().Hold();
}
