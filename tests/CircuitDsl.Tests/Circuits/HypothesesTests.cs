using CircuitDsl.Tasks;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Testing;
using CircuitDsl.Tests.Model;

namespace CircuitDsl.Tests.Circuits;

public sealed class HypothesesTests
{
    private static readonly HeadId Head = new(0, 0);

    private static ModelAnalysis Copier() =>
        new(HandBuilt.PreviousTokenCopier(vocab: 12, ctx: 9, logitScale: 4f), WeightProcessingOptions.None, modelName: "previous-token copier");

    [Fact]
    public void The_hand_built_previous_token_copier_is_a_previous_token_copying_head_and_not_an_induction_head()
    {
        var analysis = Copier();

        var previous = Hypotheses.PreviousTokenHead(analysis, "Previous", "0.0 attends to the previous token.", Head, 0.9, Bound.AtLeast);
        var induction = Hypotheses.InductionHead(analysis, "Induction", "0.0 is an induction head.", Head, 0.5, Bound.AtLeast);
        var copying = Hypotheses.CopyingHead(analysis, "Copying", "0.0 copies what it attends to.", Head, 0.9, Bound.AtLeast);

        previous.Verdict.Should().Be(Verdict.Holds);
        previous.Measured.Should().BeApproximately(1, 1e-6);
        var pattern = previous.Data.Should().ContainSingle().Which.Should().BeOfType<AttentionPatternData>().Subject;
        (pattern.Head, pattern.Sequence).Should().Be((Head, 0));
        pattern.Tokens.Should().Equal(analysis.DetectionBatch[0]);
        pattern.Pattern.Shape.ToArray().Should().Equal(8, 8);
        pattern.Pattern[5, 4].Should().BeApproximately(1, 1e-5f, "every query after the first attends to the token before it");
        induction.Verdict.Should().Be(Verdict.Fails);
        copying.Verdict.Should().Be(Verdict.Holds);
        copying.Measured.Should().BeApproximately(1, 1e-9, "W_E·W_OV·W_U is 4·I on the vocabulary");
        var eigenvalues = copying.Data.Should().ContainSingle().Which.Should().BeOfType<EigenvaluesData>().Subject;
        eigenvalues.Head.Should().Be(Head);
        eigenvalues.Eigenvalues.Should().HaveCount(12).And.OnlyContain(z => Math.Abs(z.Real - 4) < 1e-4 && Math.Abs(z.Imaginary) < 1e-4,
            "4·I has the eigenvalue 4, once per token");

        var report = analysis.Report("PreviousTokenCopier", [previous, induction, copying]);
        report.AllHold.Should().BeFalse();
        report.Failing.Should().Equal("Induction");
        Snapshot.Verify(report.ToText());
    }

    /// <summary>Two sequences with repeats and no adjacent repeats; vocabulary 8 and context 6 hold them.</summary>
    private static readonly int[][] Repeats = [[5, 3, 5, 7, 3, 5], [1, 2, 1, 2, 1, 2]];

    [Fact]
    public void A_hand_built_duplicate_token_head_scores_the_closed_form_of_its_softmax()
    {
        const float alpha = 8f;
        var analysis = new ModelAnalysis(HandBuilt.DuplicateTokenHead(vocab: 8, ctx: 6, sameTokenLogit: alpha),
            WeightProcessingOptions.None, Repeats, "duplicate-token head");

        var duplicate = Hypotheses.DuplicateTokenHead(analysis, "Duplicate", "0.0 attends to earlier copies of its token.", Head, 0.99, Bound.AtLeast);

        // A row i with c earlier copies has logit α on each copy and 0 on its i + 1 − c other keys (itself included), so
        // its mass on the copies is c·e^α / (c·e^α + i + 1 − c). Rows without a copy (attending uniformly) do not count.
        var e = Math.Exp(alpha);
        double[] first = [e / (e + 2), e / (e + 4), 2 * e / ((2 * e) + 4)];                          // rows 2, 4, 5
        double[] second = [e / (e + 2), e / (e + 3), 2 * e / ((2 * e) + 3), 2 * e / ((2 * e) + 4)]; // rows 2, 3, 4, 5
        var score = (first.Average() + second.Average()) / 2;
        var tlMul = ((first.Sum() / 6) + (second.Sum() / 6)) / 2;

        // The logits are finite, so the score is short of 1 by about 1e-3 (e^−8 per other key); the forward pass is float32,
        // good to about 1e-7 here, so 1e-5 tells this closed form from the hard-attention limit 1.
        duplicate.Measured.Should().BeApproximately(score, 1e-5).And.BeLessThan(1 - 1e-4).And.BeGreaterThan(0.99);
        duplicate.Verdict.Should().Be(Verdict.Holds);
        analysis.Detectors.TlMul(DetectorKind.DuplicateToken, Head).Should().BeApproximately(tlMul, 1e-5,
            "TL's measure also divides by the rows without a copy, so it is about (3/6 + 4/6) / 2");
        duplicate.Detail.Should().Contain($"tl_mul_duplicate_token = {Evidence.Format(tlMul)}");
        var pattern = duplicate.Data.Should().ContainSingle().Which.Should().BeOfType<AttentionPatternData>().Subject.Pattern;
        pattern[5, 0].Should().BeApproximately((float)(e / ((2 * e) + 4)), 1e-6f, "row 5 splits its mass between its two copies");
        pattern[5, 2].Should().BeApproximately((float)(e / ((2 * e) + 4)), 1e-6f);
        pattern[3, 0].Should().BeApproximately(0.25f, 1e-6f, "row 3 (a 7) has no copy: every logit is 0");
    }

    [Fact]
    public void A_hand_built_previous_token_head_is_not_a_duplicate_token_head_without_adjacent_repeats()
    {
        var analysis = new ModelAnalysis(HandBuilt.PreviousTokenCopier(vocab: 8, ctx: 6, logitScale: 1f),
            WeightProcessingOptions.None, Repeats, "previous-token copier");

        var duplicate = Hypotheses.DuplicateTokenHead(analysis, "Duplicate", "0.0 attends to earlier copies of its token.", Head, 0.5, Bound.AtLeast);

        // Row i has logit 40 on i − 1, never a copy here, and 0 on its other i keys: its c copies get c / (e^40 + i).
        var e = Math.Exp(40);
        double[] first = [1 / (e + 2), 1 / (e + 4), 2 / (e + 5)];
        double[] second = [1 / (e + 2), 1 / (e + 3), 2 / (e + 4), 2 / (e + 5)];
        var score = (first.Average() + second.Average()) / 2;

        score.Should().BeLessThan(1e-17, "2 / e^40 bounds every row");
        duplicate.Measured.Should().BeApproximately(score, 1e-12);
        duplicate.Verdict.Should().Be(Verdict.Fails);
        analysis.Detectors.Score(DetectorKind.PreviousToken, Head).Should().BeApproximately(1, 1e-6, "it is a previous-token head on this batch");
    }

    [Fact]
    public void Composition_is_judged_in_raw_or_baseline_units_against_either_bound()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, dModel: 16, dHead: 4), seed: 3);
        var analysis = new ModelAnalysis(w, WeightProcessingOptions.None);
        var raw = analysis.Composition.Score(CompositionKind.K, new HeadId(0, 1), new HeadId(1, 0));

        var atLeast = Hypotheses.Composition(analysis, "K", "", CompositionKind.K, new(0, 1), new(1, 0), raw * 4 - 0.01, Bound.AtLeast, inBaselineUnits: true);
        var atMost = Hypotheses.Composition(analysis, "K", "", CompositionKind.K, new(0, 1), new(1, 0), raw - 0.01, Bound.AtMost, inBaselineUnits: false);
        var backwards = Hypotheses.Composition(analysis, "K", "", CompositionKind.K, new(1, 0), new(1, 1), 0.1, Bound.AtLeast, inBaselineUnits: false);

        atLeast.Measured.Should().BeApproximately(raw * 4, 1e-12, "sqrt(16) = 4 baselines per unit");
        atLeast.Data.Should().ContainSingle().Which.Should().Be(new CompositionData(new(0, 1), new(1, 0),
            analysis.Composition.Score(CompositionKind.Q, new(0, 1), new(1, 0)), raw,
            analysis.Composition.Score(CompositionKind.V, new(0, 1), new(1, 0)), 0.25));
        atLeast.Verdict.Should().Be(Verdict.Holds);
        atMost.Verdict.Should().Be(Verdict.Fails);
        backwards.Verdict.Should().Be(Verdict.NotMeasured);
        backwards.Detail.Should().Contain("not in an earlier layer");
    }

    [Fact]
    public void Path_claims_read_the_term_they_name_and_say_why_when_the_model_has_none()
    {
        var w = RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, dModel: 16, dHead: 4), seed: 3);
        var analysis = new ModelAnalysis(w, WeightProcessingOptions.None);
        var paths = new PathTermSet(w, analysis.DetectionBatch);

        var head = Hypotheses.PathTerm(analysis, "T", "", "1.0", PathMeasure.Share, task: null, seed: 0, 0.5, Bound.AtMost);
        var bias = Hypotheses.PathTerm(analysis, "B", "", "b0", PathMeasure.Share, task: null, seed: 0, 0.5, Bound.AtMost);
        var every = Hypotheses.TermImportance(analysis, "I", "", 2, task: null, seed: 0, 0.99, Bound.AtLeast);
        var chain = Hypotheses.TermImportance(analysis, "C", "", 1, TaskNames.Bigram, seed: 0, 0.5, Bound.AtLeast);
        var skip = Hypotheses.TermImportance(analysis, "S", "", 1, TaskNames.SkipTrigram, seed: 0, 0.5, Bound.AtLeast);

        head.Measured.Should().BeApproximately(paths.Through(new HeadId(1, 0)).Share, 1e-12);
        bias.Measured.Should().BeApproximately(paths.Source(PathSource.AttentionBias(0)).Share, 1e-12);
        (every.Verdict, every.Measured).Should().Be((Verdict.Holds, 1.0), "the terms of every order are the logits");
        chain.Detail.Should().Contain("8 sequences of the bigram task (seed 0)");
        skip.Verdict.Should().Be(Verdict.NotMeasured);
        skip.Detail.Should().StartWith("the path terms cannot be listed: vocab", "the skip-trigram task needs a larger vocabulary than 11");
        Hypotheses.PathTerm(analysis, "M", "", "mlp0", PathMeasure.Share, null, 0, 0.5, Bound.AtMost).Detail
            .Should().Be("this model (2 layers of 2 heads, attention only) has no path term mlp0.");
        Hypotheses.PathTerm(analysis, "E", "", "embed", PathMeasure.Share, null, 0, 0.5, Bound.AtMost).Detail.Should().StartWith("'embed' names no path term");
        Hypotheses.TermImportance(analysis, "O", "", 3, null, 0, 0.5, Bound.AtLeast).Detail.Should().Be("path orders of this model run from 0 to its 2 layers, not 3.");
        Hypotheses.VirtualHead(analysis, "V", "", new HeadId(1, 0), new HeadId(1, 1), PathMeasure.Share, null, 0, 0.5, Bound.AtMost).Detail
            .Should().Contain("not in an earlier layer");
        Hypotheses.PathTerm(analysis, "U", "", "direct", PathMeasure.Share, "no-such-task", 0, 0.5, Bound.AtMost).Detail
            .Should().StartWith("the path terms cannot be listed: Unknown task 'no-such-task'");
    }

    [Fact]
    public void Non_finite_weights_and_unknown_heads_are_not_measured_with_a_reason()
    {
        var w = RandomWeights.Create(RandomWeights.Config(), seed: 1);
        w.Blocks[1].W_V[0, 2, 1] = float.NaN;
        var analysis = new ModelAnalysis(w, WeightProcessingOptions.None);

        var e = Hypotheses.CopyingHead(analysis, "Copy", "", new HeadId(1, 0), 0.5, Bound.AtLeast);
        var d = Hypotheses.InductionHead(analysis, "Ind", "", new HeadId(1, 1), 0.5, Bound.AtLeast);
        var outside = Hypotheses.PreviousTokenHead(Copier(), "Prev", "", new HeadId(0, 4), 0.5, Bound.AtLeast);

        e.Verdict.Should().Be(Verdict.NotMeasured);
        e.Detail.Should().Contain("blocks.1.attn.W_V").And.Contain("NaN");
        double.IsNaN(e.Measured).Should().BeTrue();
        d.Verdict.Should().Be(Verdict.NotMeasured);
        outside.Verdict.Should().Be(Verdict.NotMeasured);
        outside.Detail.Should().Contain("0.4 is outside the model");
    }

    [Fact]
    public void Ablation_and_faithfulness_report_loss_changes()
    {
        var analysis = Copier();

        var ablation = Hypotheses.Ablation(analysis, "Needed", "", Head, Hypotheses.RepeatedTokensTask, threshold: 0.1, Bound.AtLeast);
        var faithful = Hypotheses.Faithfulness(analysis, "Faithful", "", [Head], Hypotheses.RepeatedTokensTask, threshold: 0.99, Bound.AtLeast);
        var unknown = Hypotheses.Faithfulness(analysis, "Faithful", "", [Head], "no-such-task", threshold: 0.99, Bound.AtLeast);

        ablation.Verdict.Should().NotBe(Verdict.NotMeasured);
        var increase = ablation.Data.Should().ContainSingle().Which.Should().BeOfType<LossChangeData>().Subject;
        increase.Head.Should().Be(Head);
        increase.PerToken.Shape.ToArray().Should().Equal(HeldOut.Sequences, analysis.Config.NCtx - 1);
        ablation.Detail.Should().StartWith($"{HeldOut.Sequences} held-out sequences");
        increase.MeanOverSequences().Should().HaveCount(analysis.Config.NCtx - 1).And.Subject.Average().Should().BeApproximately(ablation.Measured, 1e-6,
            "the measured value is the mean over every predicted token, and every position has as many sequences");
        faithful.Measured.Should().BeApproximately(1, 1e-9, "the circuit is the whole model");
        var losses = faithful.Data.Should().ContainSingle().Which.Should().BeOfType<FaithfulnessData>().Subject;
        losses.Circuit.Should().Equal(Head);
        losses.CircuitLoss.Should().Be(losses.FullLoss, "keeping every head ablates nothing");
        faithful.Measured.Should().Be((losses.AblatedLoss - losses.CircuitLoss) / (losses.AblatedLoss - losses.FullLoss));
        unknown.Verdict.Should().Be(Verdict.NotMeasured);
        unknown.Detail.Should().Contain("no-such-task");
    }

    [Fact]
    public void An_upper_bound_holds_below_its_threshold_and_fails_above_it_with_the_value_measured()
    {
        var analysis = Copier();

        var notInduction = Hypotheses.InductionHead(analysis, "NotInduction", "0.0 is not an induction head.", Head, 0.5, Bound.AtMost);
        var notPrevious = Hypotheses.PreviousTokenHead(analysis, "NotPrevious", "0.0 does not attend to the previous token.", Head, 0.5,
            Bound.AtMost);

        notInduction.Verdict.Should().Be(Verdict.Holds);
        notInduction.Comparison.Should().Be(Bound.AtMost);
        notPrevious.Verdict.Should().Be(Verdict.Fails);
        notPrevious.Measured.Should().BeApproximately(1, 1e-6, "the copier attends to the previous token with all its mass");
        (notPrevious.Threshold, notPrevious.Comparison).Should().Be((0.5, Bound.AtMost));
    }

    [Fact]
    public void A_measured_claim_judges_the_value_its_code_returns_and_turns_a_throw_or_NaN_into_not_measured()
    {
        var low = Hypotheses.Measured("Loss", "The loss is low.", () => 1.25, threshold: 2.5, Bound.AtMost, unit: "nats");
        var high = Hypotheses.Measured("Loss", "The loss is low.", () => 3.0, threshold: 2.5, Bound.AtMost, unit: "nats");
        var thrown = Hypotheses.Measured("Loss", "The loss is low.", () => throw new InvalidOperationException("no batch"), 2.5,
            Bound.AtMost, unit: null);
        var nan = Hypotheses.Measured("Loss", "The loss is low.", () => double.NaN, 2.5, Bound.AtLeast, unit: null);

        (low.Verdict, low.Measured, low.Unit).Should().Be((Verdict.Holds, 1.25, "Loss (nats)"));
        (high.Verdict, high.Measured, high.Threshold, high.Comparison).Should().Be((Verdict.Fails, 3.0, 2.5, Bound.AtMost));
        thrown.Verdict.Should().Be(Verdict.NotMeasured);
        thrown.Unit.Should().Be("Loss");
        thrown.Detail.Should().Be("the measurement threw InvalidOperationException: no batch");
        nan.Verdict.Should().Be(Verdict.NotMeasured);
        nan.Detail.Should().StartWith("the measurement gave NaN");
    }

    [Theory]
    [InlineData(-0.0004, "0.000")]
    [InlineData(0.0005, "0.001")]
    [InlineData(12.3456, "12.346")]
    [InlineData(double.NaN, "NaN")]
    public void Values_render_to_three_decimals_without_negative_zero(double value, string text) =>
        Evidence.Format(value).Should().Be(text);
}
