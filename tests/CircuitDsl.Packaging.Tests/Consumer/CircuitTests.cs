using CircuitDsl.Reports;
using FluentAssertions;
using Xunit;

namespace Consumer;

public sealed class CircuitTests
{
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, "model");

    [Fact]
    public void The_previous_token_head_holds_and_the_idle_head_does_not()
    {
        using var model = Toy1L.Load(ModelDirectory);

        var report = PreviousToken.CheckAll(model);

        report.Evidence.Select(e => (e.Hypothesis, e.Verdict)).Should().Equal(
            [("Head0", Verdict.Holds), ("Head1", Verdict.Fails)], report.ToText());
        report.Evidence[0].Measured.Should().BeGreaterThan(0.99);
        // Zero weights attend evenly: on the detection batch's 6-token sequences, row i gives 1/(i+1) to i-1.
        report.Evidence[1].Measured.Should().BeApproximately(((1 / 2.0) + (1 / 3.0) + (1 / 4.0) + (1 / 5.0) + (1 / 6.0)) / 5, 1e-6);
    }

    [Fact]
    public void The_generated_model_has_the_declared_shape_and_the_folder_weights()
    {
        using var model = Toy1L.Load(ModelDirectory);

        Toy1L.Heads.Should().Be(2);
        model.AllHeads.Select(h => h.Id.ToString()).Should().Equal("0.0", "0.1");
        model.L0.H0.W_Q.Shape.ToArray().Should().Equal(16, 8);
        model.L0.H1.W_Q.Span.ToArray().Should().OnlyContain(x => x == 0f);
    }
}
