using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tests.Model;

namespace CircuitDsl.Tests.Circuits;

/// <summary>
/// What a claim may choose to be measured on: a tokens file (<c>Data</c> of <c>[Ablation]</c> and <c>[Faithfulness]</c>)
/// and its own detection batch (<c>Sequences</c>, <c>SequenceLength</c> of the detector claims).
/// </summary>
public sealed class ClaimDataTests : IDisposable
{
    private const string Folder = "claim-data-tests";
    private static readonly HeadId Head = new(0, 0);

    private readonly string _weights = Path.Combine(AppContext.BaseDirectory, Folder);

    public ClaimDataTests() => Directory.CreateDirectory(Path.Combine(_weights, "data"));

    public void Dispose() => Directory.Delete(_weights, recursive: true);

    private static ModelAnalysis Copier() =>
        new(HandBuilt.PreviousTokenCopier(vocab: 12, ctx: 9, logitScale: 4f), WeightProcessingOptions.None, modelName: "previous-token copier");

    [Fact]
    public void A_claims_batch_is_drawn_as_the_default_batch_is_and_the_default_is_one_of_them()
    {
        var config = RandomWeights.Config(vocab: 50, ctx: 16);

        HeadDetector.DefaultBatch(config).Should().BeEquivalentTo(HeadDetector.DefaultBatch(config, HeadDetector.DefaultBatchSize, 14),
            o => o.WithStrictOrdering(), "the default batch is h + h with h = (16 − 1) / 2");
        var odd = HeadDetector.DefaultBatch(config, 3, 9);
        var even = HeadDetector.DefaultBatch(config, 3, 10);
        odd.Should().HaveCount(3);
        for (var s = 0; s < 3; s++)
        {
            odd[s].Should().HaveCount(9);
            odd[s].Take(5).Should().OnlyHaveUniqueItems();
            odd[s].Skip(5).Should().Equal(odd[s].Take(4), "⌈9/2⌉ = 5 distinct tokens, then the first 4 again");
            odd[s].Should().Equal(even[s].Take(9), "both draw 5 tokens a sequence from the same seeded generator");
        }
    }

    [Theory]
    [InlineData(0, 10, 50)]
    [InlineData(2, 1, 50)]
    [InlineData(2, 16, 50)]
    [InlineData(2, 12, 5)]
    public void A_batch_that_does_not_fit_the_model_is_refused(int sequences, int length, int vocab)
    {
        var config = RandomWeights.Config(vocab: vocab, ctx: 16);

        FluentActions.Invoking(() => HeadDetector.DefaultBatch(config, sequences, length)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void A_claims_own_batch_is_analysed_once_and_the_default_size_reuses_the_default_run()
    {
        var analysis = Copier();
        var defaultLength = analysis.DetectionBatch[0].Length;

        analysis.OnDetectionBatch(0, 0).Should().BeSameAs(analysis);
        analysis.OnDetectionBatch(HeadDetector.DefaultBatchSize, defaultLength).Should().BeSameAs(analysis);
        var own = analysis.OnDetectionBatch(3, 7);
        analysis.OnDetectionBatch(3, 7).Should().BeSameAs(own, "each distinct batch is analysed once");
        analysis.OnDetectionBatch(0, 7).Should().NotBeSameAs(own).And.BeSameAs(analysis.OnDetectionBatch(HeadDetector.DefaultBatchSize, 7));
        own.Composition.Should().BeSameAs(analysis.Composition, "what does not depend on the batch is shared");

        var batch = HeadDetector.DefaultBatch(analysis.Config, 3, 7);
        own.DetectionBatch.Should().BeEquivalentTo(batch, o => o.WithStrictOrdering());
        var alone = new ModelAnalysis(HandBuilt.PreviousTokenCopier(vocab: 12, ctx: 9, logitScale: 4f), WeightProcessingOptions.None, batch);
        foreach (var kind in Enum.GetValues<DetectorKind>())
        {
            own.Detectors.Score(kind, Head).Should().Be(alone.Detectors.Score(kind, Head), $"{kind} on the same batch");
        }

        // The hand-built head attends to the previous token on any batch: 1 exactly, as on the default batch.
        var claim = Hypotheses.PreviousTokenHead(own, "Previous", "", Head, 0.9, Bound.AtLeast);
        claim.Measured.Should().BeApproximately(1, 1e-6);
        claim.Data.OfType<AttentionPatternData>().Single().Tokens.Should().Equal(batch[0]);
    }

    [Fact]
    public void Ablation_and_faithfulness_on_a_data_file_are_the_claims_on_its_tokens_and_name_the_file()
    {
        var analysis = Copier();
        int[][] tokens = [[1, 2, 3, 1, 2, 3, 1, 2, 3], [4, 5, 6, 7, 4, 5, 6, 7, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1]];
        File.WriteAllText(Path.Combine(_weights, "data", "prompts.json"), System.Text.Json.JsonSerializer.Serialize(tokens));
        var data = TokenData.Of(typeof(ClaimDataModel), "data/prompts.json");

        data.Path.Should().Be(Path.Combine(_weights, "data", "prompts.json"), "the path is relative to the [TrainedOn] weights folder");
        var ablation = Hypotheses.Ablation(analysis, "Needed", "", Head, data, 0.1, Bound.AtLeast);
        var direct = Hypotheses.Ablation(analysis, "Needed", "", Head, tokens, 0.1, Bound.AtLeast);
        ablation.Verdict.Should().NotBe(Verdict.NotMeasured);
        ablation.Measured.Should().Be(direct.Measured);
        ablation.Detail.Should().Be("on data/prompts.json: " + direct.Detail);

        var faithful = Hypotheses.Faithfulness(analysis, "Faithful", "", [Head], data, 0.5, Bound.AtLeast);
        faithful.Measured.Should().Be(Hypotheses.Faithfulness(analysis, "Faithful", "", [Head], tokens, 0.5, Bound.AtLeast).Measured);
        faithful.Detail.Should().StartWith("on data/prompts.json: ");
    }

    [Theory]
    [InlineData(null, "tokens file not found.")]
    [InlineData("[[1, 2, 3", "not a JSON array of token-id arrays")]
    [InlineData("{\"tokens\": [1, 2]}", "not a JSON array of token-id arrays")]
    [InlineData("[]", "expected a non-empty JSON array of token-id arrays")]
    [InlineData("[[1, 2, 12]]", "Token id 12 at sequence 0, position 2 is outside the vocabulary [0, 12).")]
    [InlineData("[[1, 2], [3]]", "Sequence 1 has 1 tokens; sequence 0 has 2")]
    [InlineData("[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]", "the model's context is n_ctx=9")]
    public void A_data_file_that_cannot_be_used_leaves_the_claim_not_measured_naming_the_file(string? content, string reason)
    {
        var file = Path.Combine(_weights, "data", "bad.json");
        if (content is not null)
        {
            File.WriteAllText(file, content);
        }

        var data = TokenData.Of(typeof(ClaimDataModel), "data/bad.json");
        var analysis = Copier();
        foreach (var evidence in new[]
        {
            Hypotheses.Ablation(analysis, "Needed", "", Head, data, 0.1, Bound.AtLeast),
            Hypotheses.Faithfulness(analysis, "Faithful", "", [Head], data, 0.5, Bound.AtLeast),
        })
        {
            evidence.Verdict.Should().Be(Verdict.NotMeasured);
            evidence.Detail.Should().StartWith(file + ": ").And.Contain(reason);
        }
    }

    /// <summary>A spec class whose weights folder is this test's.</summary>
    [TrainedOn(TaskNames.RepeatedTokens, Steps = 1, Weights = Folder)]
    private sealed class ClaimDataModel;
}
