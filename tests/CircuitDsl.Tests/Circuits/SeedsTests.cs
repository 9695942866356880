using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tasks;
using CircuitDsl.Tests.Model;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Circuits;

/// <summary>Claims across training seeds, heads named by role, and the held-out data loss claims are measured on.</summary>
public sealed class SeedsTests
{
    private static HypothesisDocumentation Claim(string name, int onSeeds = 0) =>
        new(name, "Measured", "", [], [], null, onSeeds);

    private static CircuitReport Report(params Evidence[] evidence) => new("C", "M", "none", evidence);

    private static Evidence Value(string name, double value, double threshold = 0.5, Bound bound = Bound.AtLeast) =>
        Evidence.Judge(name, "", value, threshold, bound, "score");

    [Fact]
    public void A_claim_holds_on_all_seeds_unless_it_names_how_many_and_the_report_gives_each_value_with_min_median_max_and_margin()
    {
        var documentation = new CircuitDocumentation("C", "M", "", null, [Claim("All"), Claim("Three", onSeeds: 3)]);
        double[] all = [0.9, 0.6, 0.4, 0.8, 0.7];
        double[] three = [0.9, 0.6, 0.4, 0.2, 0.7];
        var report = new SeedReport(documentation, [0, 1, 2, 3, 4],
            [.. all.Select((a, i) => Report(Value("All", a), Value("Three", three[i])))]);

        var (first, second) = (report.Claims[0], report.Claims[1]);
        (first.Holding, first.Required, first.Verdict).Should().Be((4, 5, Verdict.Fails));
        (first.Min, first.Median, first.Max).Should().Be((0.4, 0.7, 0.9));
        first.Margin.Should().BeApproximately(-0.1, 1e-12, "the weakest seed is 0.1 short of the bound");
        (second.Holding, second.Required, second.Verdict).Should().Be((3, 3, Verdict.Holds));
        second.Margin.Should().BeApproximately(0.1, 1e-12, "the third best seed, 0.6, is 0.1 above the bound");
        report.Failing.Should().Equal("All");
        report.ToText().Should().Contain("[Fails] All on 4 of 5 seeds (needs 5): score, claimed >= 0.500")
            .And.Contain("min 0.400, median 0.700, max 0.900; margin -0.100")
            .And.Contain("seed 2: 0.400 fails")
            .And.Contain("[Holds] Three on 3 of 5 seeds (needs 3)");
    }

    [Fact]
    public void An_upper_bound_measures_its_margin_from_the_highest_seeds_and_the_median_of_an_even_count_is_the_middle_mean()
    {
        var documentation = new CircuitDocumentation("C", "M", "", null, [Claim("Low")]);
        var report = new SeedReport(documentation, [3, 7, 9, 11],
            [Report(Value("Low", 0.1, 1, Bound.AtMost)), Report(Value("Low", 0.4, 1, Bound.AtMost)),
             Report(Value("Low", 0.2, 1, Bound.AtMost)), Report(Value("Low", 0.3, 1, Bound.AtMost))]);

        report.Claims[0].Median.Should().BeApproximately(0.25, 1e-12);
        report.Claims[0].Margin.Should().BeApproximately(0.6, 1e-12);
        report.AllHold.Should().BeTrue();
        report.ToText().Should().StartWith("circuit C on M, 4 seeds: 3, 7, 9, 11\n");
    }

    [Fact]
    public void Seeds_not_measured_make_a_claim_not_measured_when_they_could_decide_it()
    {
        var documentation = new CircuitDocumentation("C", "M", "", null, [Claim("X")]);
        var missing = Evidence.NotMeasured("X", "", 0.5, Bound.AtLeast, "score", "no weights");
        var report = new SeedReport(documentation, [0, 1], [Report(Value("X", 0.9)), Report(missing)]);

        report.Claims[0].Verdict.Should().Be(Verdict.NotMeasured);
        report.Claims[0].Min.Should().Be(0.9);
    }

    [Fact]
    public void Reports_of_another_circuit_or_a_missing_seed_are_refused()
    {
        var documentation = new CircuitDocumentation("C", "M", "", null, [Claim("X")]);

        ((Action)(() => _ = new SeedReport(documentation, [0, 1], [Report(Value("X", 1))]))).Should().Throw<ArgumentException>();
        ((Action)(() => _ = new SeedReport(documentation, [0], [Report(Value("Y", 1))]))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void A_value_less_than_two_standard_errors_from_its_bound_is_within_noise_and_the_report_says_so()
    {
        var near = Value("Near", 0.55) with { StandardError = 0.03 };
        var far = Value("Far", 0.65) with { StandardError = 0.03 };
        var exact = Value("Exact", 0.51);

        near.WithinNoise.Should().BeTrue();
        far.WithinNoise.Should().BeFalse();
        exact.WithinNoise.Should().BeFalse("a value computed exactly has no standard error");
        ReportText.Describe(near).Should().Contain(ReportText.WithinNoise);
        ReportText.Describe(far).Should().NotContain("within noise");
    }

    [Fact]
    public void A_role_head_is_the_layer_head_with_the_highest_score_of_its_role()
    {
        var analysis = new ModelAnalysis(RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 3), seed: 5), WeightProcessingOptions.None);

        foreach (var (role, kind) in new[] { (HeadRole.PreviousToken, DetectorKind.PreviousToken), (HeadRole.Induction, DetectorKind.Induction) })
        {
            for (var layer = 0; layer < 2; layer++)
            {
                var best = Enumerable.Range(0, 3).Select(h => new HeadId(layer, h)).MaxBy(h => analysis.Detectors.Score(kind, h));
                analysis.Resolve(new HeadId(layer, role)).Should().Be(best);
            }
        }

        var copying = Enumerable.Range(0, 3).Select(h => new HeadId(1, h)).MaxBy(analysis.Copying.Score);
        analysis.Resolve(new HeadId(1, HeadRole.Copying)).Should().Be(copying);
        analysis.Resolve(new HeadId(1, 2)).Should().Be(new HeadId(1, 2), "a head named by index is itself");
        analysis.Resolve(new HeadId(5, HeadRole.Induction)).Role.Should().Be(HeadRole.Induction, "a layer the model lacks stays unresolved");
        analysis.WhyNotMeasurable(new HeadId(5, HeadRole.Induction)).Should().Contain("outside the model");
    }

    [Fact]
    public void A_claim_about_a_role_head_measures_the_resolved_head_and_names_both()
    {
        // Head 1 is the hand-built previous-token head; head 0 has zero weights, so it attends uniformly.
        var analysis = new ModelAnalysis(PreviousTokenHeadBesideAUniformOne(vocab: 12, ctx: 9), WeightProcessingOptions.None);

        var byRole = Hypotheses.PreviousTokenHead(analysis, "P", "", new HeadId(0, HeadRole.PreviousToken), 0.9, Bound.AtLeast);
        var uniform = Hypotheses.PreviousTokenHead(analysis, "P", "", new HeadId(0, 0), 0.9, Bound.AtLeast);

        analysis.Resolve(new HeadId(0, HeadRole.PreviousToken)).Should().Be(new HeadId(0, 1));
        byRole.Measured.Should().BeApproximately(1, 1e-6, "the hand-built head puts all its attention on the previous token");
        byRole.Unit.Should().Be("previous-token score of 0.1 (0.previous-token)");
        // A uniform head gives query i (i ≥ 1) a share 1/(i+1) of its attention on the previous token.
        var n = analysis.DetectionBatch[0].Length;
        uniform.Measured.Should().BeApproximately(Enumerable.Range(1, n - 1).Average(i => 1.0 / (i + 1)), 1e-6);
    }

    /// <summary><see cref="HandBuilt.PreviousTokenCopier"/>'s head as head 1 of two, head 0 all zeros.</summary>
    private static TransformerWeights PreviousTokenHeadBesideAUniformOne(int vocab, int ctx)
    {
        var one = HandBuilt.PreviousTokenCopier(vocab, ctx, logitScale: 4f);
        var two = TransformerWeights.Zeros(one.Config with { NHeads = 2 });
        one.W_E.Span.CopyTo(two.W_E.Span);
        one.W_pos.Span.CopyTo(two.W_pos.Span);
        one.W_U.Span.CopyTo(two.W_U.Span);
        var (from, to) = (one.Blocks[0], two.Blocks[0]);
        foreach (var (a, b) in new[] { (from.W_Q, to.W_Q), (from.W_K, to.W_K), (from.W_V, to.W_V), (from.W_O, to.W_O) })
        {
            a[0].Span.CopyTo(b[1].Span);
        }

        return two;
    }

    [Fact]
    public void Held_out_batches_are_fresh_task_samples_from_streams_other_than_the_training_data_and_each_other()
    {
        var config = RandomWeights.Config(vocab: 64, ctx: 64) with { Seed = 3 };
        var (mean, evaluation) = HeldOut.Batches(TaskNames.RepeatedTokens, config);

        mean.Should().HaveCount(HeldOut.Sequences).And.OnlyContain(s => s.Length == config.NCtx);
        evaluation.Should().HaveCount(HeldOut.Sequences);
        HeldOut.MeanSeed.Should().NotBe(HeldOut.EvaluationSeed);
        foreach (var seed in Enumerable.Range(0, 100))
        {
            Trainer.DataSeed(seed).Should().NotBe(HeldOut.MeanSeed).And.NotBe(HeldOut.EvaluationSeed);
        }

        // The training data of the model's seed, first steps: the sequences of the recipe's batches, drawn as the trainer draws them.
        var task = TrainingTask.Create(TaskNames.RepeatedTokens, config.DVocab, 3);
        var rng = new Random(Trainer.DataSeed(3));
        var training = Enumerable.Range(0, 16 * 200).Select(_ => string.Join(",", task.Sample(rng, config.NCtx))).ToHashSet();
        var meanSet = mean.Select(s => string.Join(",", s)).ToHashSet();
        evaluation.Select(s => string.Join(",", s)).Should().NotIntersectWith(meanSet).And.NotIntersectWith(training);
        meanSet.Should().NotIntersectWith(training);
        var again = HeldOut.Batches(TaskNames.RepeatedTokens, config);
        again.Evaluation.Should().BeEquivalentTo(evaluation, o => o.WithStrictOrdering(), "the streams are seeded");
    }

    [Fact]
    public void A_loss_claim_on_a_task_is_measured_on_the_held_out_stream_with_the_mean_from_the_other()
    {
        var analysis = new ModelAnalysis(RandomWeights.Create(RandomWeights.Config(vocab: 64, ctx: 16), seed: 2), WeightProcessingOptions.None);
        var (mean, evaluation) = HeldOut.Batches(TaskNames.RepeatedTokens, analysis.Config);
        var head = new HeadId(1, 0);

        var byTask = Hypotheses.Ablation(analysis, "A", "", head, TaskNames.RepeatedTokens, 0.1, Bound.AtLeast);
        var explicitly = Hypotheses.Ablation(analysis, "A", "", head, evaluation, 0.1, Bound.AtLeast, mean);
        var inSample = Hypotheses.Ablation(analysis, "A", "", head, evaluation, 0.1, Bound.AtLeast);
        var faithful = Hypotheses.Faithfulness(analysis, "F", "", [head], TaskNames.RepeatedTokens, 0.1, Bound.AtLeast);
        var recovered = Ablation.FractionOfLossRecovered(analysis.Model, evaluation, [head], mean);

        byTask.Measured.Should().Be(explicitly.Measured);
        byTask.Measured.Should().NotBe(inSample.Measured, "the mean is taken on the other stream");
        byTask.Detail.Should().StartWith($"{HeldOut.Sequences} held-out sequences");
        var perSequence = Ablation.SequenceLosses(((LossChangeData)byTask.Data[0]).PerToken);
        var sd = Math.Sqrt(perSequence.Sum(x => (x - perSequence.Average()) * (x - perSequence.Average())) / (perSequence.Length - 1));
        byTask.StandardError.Should().BeApproximately(sd / Math.Sqrt(perSequence.Length), 1e-12);
        faithful.Measured.Should().Be(recovered.Fraction);
        faithful.StandardError.Should().Be(recovered.StandardError);
        recovered.StandardError.Should().BePositive();
    }
}
