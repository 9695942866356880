using CircuitDsl.Reports;
using FluentAssertions;
using Xunit;

namespace Consumer;

public sealed class CircuitTests
{
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, "model");

    [Fact]
    public void The_circuit_holds()
    {
        using var model = Toy1L.Load(ModelDirectory);
        var report = PreviousToken.CheckAll(model);
        report.AllHold.Should().BeTrue(report.ToText());
        report.Evidence.Single().Measured.Should().BeGreaterThan(0.99);
    }

    [Fact]
    public void A_claim_the_weights_refute_fails_with_the_measured_value()
    {
        using var model = Toy1L.Load(ModelDirectory);

        var report = IdleHead.CheckAll(model);

        report.Failing.Should().Equal("Head1");
        // Zero weights attend evenly: on the detection batch's 6-token sequences, row i gives 1/(i+1) to i-1.
        report.Evidence.Single().Verdict.Should().Be(Verdict.Fails);
        report.Evidence.Single().Measured.Should().BeApproximately(((1 / 2.0) + (1 / 3.0) + (1 / 4.0) + (1 / 5.0) + (1 / 6.0)) / 5, 1e-6);
    }

    [Fact]
    public void The_generated_model_has_the_declared_shape_and_the_folder_weights()
    {
        using var model = Toy1L.Load(ModelDirectory);

        Toy1L.NHeads.Should().Be(2);
        model.AllHeads.Select(h => h.Id.ToString()).Should().Equal("0.0", "0.1");
        model.L0.H0.W_Q.Shape.ToArray().Should().Equal(16, 8);
        model.L0.H1.W_Q.Span.ToArray().Should().OnlyContain(x => x == 0f);
    }
}
