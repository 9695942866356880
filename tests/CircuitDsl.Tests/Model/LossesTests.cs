using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Model;

public sealed class LossesTests
{
    [Fact]
    public void Cross_entropy_is_the_mean_negative_log_probability_of_each_next_token()
    {
        // Two sequences of three positions over a vocabulary of two; the last position predicts nothing.
        var logits = new Tensor(new[] { 0f, 0f, 2f, 0f, 9f, 9f, 1f, -1f, 0f, 3f, 5f, 5f }, 2, 3, 2);
        int[][] tokens = [[0, 1, 0], [1, 0, 1]];
        static double Nll(double chosen, double other) => -Math.Log(Math.Exp(chosen) / (Math.Exp(chosen) + Math.Exp(other)));
        double[] expected = [Nll(0, 0), Nll(2, 0), Nll(1, -1), Nll(3, 0)];

        var perToken = Losses.PerTokenCrossEntropy(logits, tokens);
        var mean = Losses.NextTokenCrossEntropy(logits, tokens);

        perToken.Shape.ToArray().Should().Equal(2, 2);
        perToken.Span.ToArray().Select(x => (double)x).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-6);
        mean.Should().BeApproximately(expected.Average(), 1e-6);
    }

    [Fact]
    public void Huge_logits_do_not_overflow()
    {
        var logits = new Tensor(new[] { 1e30f, 0f, 1e30f, 0f }, 1, 2, 2);

        Losses.NextTokenCrossEntropy(logits, [[0, 1]]).Should().BeApproximately(1e30, 1e24);
    }
}
