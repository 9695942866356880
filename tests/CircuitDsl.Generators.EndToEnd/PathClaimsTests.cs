using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tensors;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>
/// <c>[PathTerm]</c>, <c>[VirtualHead]</c> and <c>[TermImportance]</c> as a real build generates them, on random weights:
/// each reads the term it names from the analysed weights' path expansion on the detection batch, and term importance
/// of every order recovers the whole loss, since the terms sum to the logits.
/// </summary>
public sealed class PathClaimsTests
{
    [Fact]
    public void Each_path_claim_measures_the_term_it_names_on_the_detection_batch()
    {
        using var model = TinyLn2L.FromWeights(GeneratedCodeTests.RandomWeights(TinyLn2L.Config, seed: 5));
        var analysis = model.Analysis;
        var paths = new PathTermSet(analysis.Weights, analysis.DetectionBatch);
        var report = TinyPaths.CheckAll(model);

        report.Evidence.Should().OnlyContain(e => e.Verdict != Verdict.NotMeasured);
        Value(report, "Direct").Should().BeApproximately(paths.Direct.Share, 1e-12);
        Value(report, "FirstMlp").Should().BeApproximately(Mean(paths.Source(PathSource.Mlp(0)).NextTokenLogit()), 1e-6);
        Value(report, "Head10").Should().BeApproximately(paths.Through(new HeadId(1, 0)).Share, 1e-12);
        var virtualHead = paths.Through(new HeadId(0, 0), new HeadId(1, 1));
        Value(report, "VirtualHead").Should().BeApproximately(virtualHead.Share, 1e-12);
        Value(report, "VirtualHeadLogit").Should().BeApproximately(Mean(virtualHead.NextTokenLogit()), 1e-6);

        var data = report.Evidence.Single(e => e.Hypothesis == "VirtualHead").Data.OfType<PathTermData>().Single();
        data.Term.Should().Be("L1H1_L0H0");
        data.RemovalLossChange.Should().BeApproximately(paths.RemovalLossChange(virtualHead), 1e-9);
        report.Evidence.Single(e => e.Hypothesis == "VirtualHead").Unit.Should().Be("share of the logits of virtual head 1.1 through 0.0");
    }

    [Fact]
    public void Term_importance_recovers_the_whole_loss_with_every_order_and_reports_each_orders_loss()
    {
        using var model = TinyLn2L.FromWeights(GeneratedCodeTests.RandomWeights(TinyLn2L.Config, seed: 5));
        var report = TinyPaths.CheckAll(model);
        var batch = model.Analysis.DetectionBatch;

        var every = report.Evidence.Single(e => e.Hypothesis == "EveryTerm");
        every.Measured.Should().BeApproximately(1, 1e-9, "the terms of every order are the logits");
        var data = every.Data.OfType<TermImportanceData>().Single();
        data.LossByOrder.Should().HaveCount(3);
        data.LossByOrder[^1].Should().BeApproximately(Losses.NextTokenCrossEntropy(model.Analysis.Model.Forward(batch), batch), 1e-4);
        var one = report.Evidence.Single(e => e.Hypothesis == "OneHeadAtMost");
        one.Measured.Should().BeApproximately((data.ConstantLoss - data.LossByOrder[1]) / (data.ConstantLoss - data.LossByOrder[2]), 1e-12);
    }

    [Fact]
    public void Path_claims_are_documented_with_their_arguments()
    {
        var hypotheses = TinyPaths.Documentation.Hypotheses;

        hypotheses.Single(h => h.Name == "FirstMlp").Arguments.Should().Equal(
            new KeyValuePair<string, string>("Term", "mlp0"), new KeyValuePair<string, string>("Measure", "NextTokenLogit"),
            new KeyValuePair<string, string>("AtLeast", "0.5"));
        hypotheses.Single(h => h.Name == "VirtualHead").Heads.Should().Equal(new HeadId(1, 1), new HeadId(0, 0));
        hypotheses.Single(h => h.Name == "OneHeadAtMost").Kind.Should().Be("TermImportance");
    }

    private static double Value(CircuitReport report, string name) => report.Evidence.Single(e => e.Hypothesis == name).Measured;

    private static double Mean(Tensor values)
    {
        double sum = 0;
        foreach (var v in values.Span)
        {
            sum += v;
        }

        return sum / values.Length;
    }
}
