using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>Softmax, LayerNorm and activations against closed forms and double-precision references.</summary>
public sealed class OpsTests
{
    [Fact]
    public void Softmax_of_equal_values_is_uniform()
    {
        var data = new float[3 * 7];
        data.AsSpan(7, 7).Fill(1e4f);
        data.AsSpan(14, 7).Fill(-50f);
        Ops.SoftmaxRows(data, 7);
        data.Should().AllSatisfy(p => p.Should().BeApproximately(1f / 7, 1e-7f));
    }

    [Fact]
    public void Softmax_gives_masked_entries_zero_and_renormalises_the_rest()
    {
        // A causal pattern: row i sees keys 0..i.
        const int n = 5;
        var data = new float[n * n];
        var rng = new Random(3);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                data[(i * n) + j] = j > i ? float.NegativeInfinity : (float)(rng.NextDouble() * 4);
            }
        }

        var logits = (float[])data.Clone();
        Ops.SoftmaxRows(data, n);
        for (var i = 0; i < n; i++)
        {
            var denominator = 0.0;
            for (var j = 0; j <= i; j++)
            {
                denominator += Math.Exp(logits[(i * n) + j]);
            }

            for (var j = 0; j < n; j++)
            {
                var expected = j > i ? 0.0 : Math.Exp(logits[(i * n) + j]) / denominator;
                data[(i * n) + j].Should().BeApproximately((float)expected, 2e-7f, $"row {i}, column {j}");
            }
        }
    }

    [Fact]
    public void Softmax_is_stable_for_large_values()
    {
        float[] data = [1000f, 999f, 998f, float.NegativeInfinity, 88f, 89f, 90f, 91f];
        Ops.SoftmaxRows(data, 4);
        var e = new[] { 1.0, Math.Exp(-1), Math.Exp(-2) };
        var sum = e.Sum();
        data[0].Should().BeApproximately((float)(e[0] / sum), 1e-6f);
        data[1].Should().BeApproximately((float)(e[1] / sum), 1e-6f);
        data[2].Should().BeApproximately((float)(e[2] / sum), 1e-6f);
        data[3].Should().Be(0f);
        var second = new[] { Math.Exp(-3), Math.Exp(-2), Math.Exp(-1), 1.0 };
        for (var j = 0; j < 4; j++)
        {
            data[4 + j].Should().BeApproximately((float)(second[j] / second.Sum()), 1e-6f);
        }
    }

    [Fact]
    public void Softmax_of_a_fully_masked_row_is_NaN_like_PyTorch()
    {
        float[] data = [float.NegativeInfinity, float.NegativeInfinity, 0f, 0f];
        Ops.SoftmaxRows(data, 2);
        data[0].Should().Be(float.NaN);
        data[1].Should().Be(float.NaN);
        data[2].Should().Be(0.5f);
    }

    [Fact]
    public void Rows_that_do_not_divide_the_data_are_refused()
    {
        var act = () => Ops.SoftmaxRows(new float[10], 4);
        act.Should().Throw<ArgumentException>().WithMessage("10 elements cannot be split into rows of 4.*");
    }

    [Fact]
    public void LayerNorm_without_weights_gives_mean_zero_and_unit_variance()
    {
        const int cols = 37;
        var rng = new Random(5);
        var x = Enumerable.Range(0, 4 * cols).Select(_ => (float)((rng.NextDouble() * 20) - 3)).ToArray();
        var y = new float[x.Length];
        Ops.LayerNormRows(x, y, cols, [], []);
        for (var r = 0; r < 4; r++)
        {
            var row = y.AsSpan(r * cols, cols).ToArray().Select(v => (double)v).ToArray();
            var mean = row.Average();
            var variance = row.Select(v => (v - mean) * (v - mean)).Average();
            mean.Should().BeApproximately(0, 1e-6);

            // var(y) = var(x) / (var(x) + eps) exactly; var(x) ≈ 33 here, so eps shifts it by 3e-7.
            variance.Should().BeApproximately(1, 1e-5);
        }
    }

    [Fact]
    public void LayerNorm_applies_weight_and_bias_in_place()
    {
        const int cols = 19;
        var rng = new Random(6);
        var x = Enumerable.Range(0, 3 * cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var w = Enumerable.Range(0, cols).Select(_ => (float)(rng.NextDouble() * 2)).ToArray();
        var b = Enumerable.Range(0, cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var input = (float[])x.Clone();
        Ops.LayerNormRows(x, x, cols, w, b);
        for (var r = 0; r < 3; r++)
        {
            var row = input.AsSpan(r * cols, cols).ToArray().Select(v => (double)v).ToArray();
            var mean = row.Average();
            var variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (var j = 0; j < cols; j++)
            {
                var expected = ((row[j] - mean) / Math.Sqrt(variance + 1e-5) * w[j]) + b[j];
                x[(r * cols) + j].Should().BeApproximately((float)expected, 2e-6f);
            }
        }
    }

    [Fact]
    public void LayerNorm_keeps_the_normalized_rows_and_inverse_deviations_its_backward_pass_reads()
    {
        const int cols = 23;
        var rng = new Random(7);
        var x = Enumerable.Range(0, 3 * cols).Select(_ => (float)((rng.NextDouble() * 4) - 1)).ToArray();
        var w = Enumerable.Range(0, cols).Select(_ => (float)(rng.NextDouble() * 2)).ToArray();
        var b = Enumerable.Range(0, cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var y = new float[x.Length];
        var xhat = new float[x.Length];
        var rstd = new float[3];
        Ops.LayerNormRows(x, y, cols, w, b, xhat, rstd);

        var plain = new float[x.Length];
        Ops.LayerNormRows(x, plain, cols, w, b);
        y.Should().Equal(plain, "keeping the statistics does not change the output");
        for (var r = 0; r < 3; r++)
        {
            var row = x.AsSpan(r * cols, cols).ToArray().Select(v => (double)v).ToArray();
            var mean = row.Average();
            var inverse = 1 / Math.Sqrt(row.Select(v => (v - mean) * (v - mean)).Average() + 1e-5);
            ((double)rstd[r]).Should().BeApproximately(inverse, 1e-6 * inverse);
            for (var j = 0; j < cols; j++)
            {
                xhat[(r * cols) + j].Should().BeApproximately((float)((row[j] - mean) * inverse), 2e-6f);
            }
        }
    }

    [Fact]
    public void LayerNorm_refuses_a_weight_of_the_wrong_length()
    {
        var act = () => Ops.LayerNormRows(new float[8], new float[8], 4, new float[3], new float[3]);
        act.Should().Throw<ArgumentException>().WithMessage("LayerNorm weight and bias must both be empty or both have 4 elements (got 3 and 3).*");
    }

    [Fact]
    public void Relu_clamps_negatives()
    {
        float[] data = [-2f, -0f, 0f, 0.5f, 3f];
        Ops.Activation(data, ActivationFunction.Relu);
        data.Should().Equal(0f, 0f, 0f, 0.5f, 3f);
    }

    /// <summary>x · Φ(x) from Python's math.erf in double precision.</summary>
    [Theory]
    [InlineData(-6f, -5.919525869479969e-09)]
    [InlineData(-3f, -0.00404969409489031)]
    [InlineData(-1.5f, -0.10021080190328713)]
    [InlineData(-1f, -0.15865525393145707)]
    [InlineData(-0.5f, -0.15426876936299344)]
    [InlineData(0f, 0.0)]
    [InlineData(0.5f, 0.34573123063700656)]
    [InlineData(1f, 0.8413447460685429)]
    [InlineData(1.5f, 1.399789198096713)]
    [InlineData(3f, 2.99595030590511)]
    [InlineData(6f, 5.999999994080474)]
    public void Gelu_is_exact_at_known_points_on_vector_and_scalar_paths(float x, double expected)
    {
        // 67 copies: most go through the vector loop, the last few through the scalar tail.
        var data = Enumerable.Repeat(x, 67).ToArray();
        Ops.Activation(data, ActivationFunction.Gelu);
        foreach (var y in data)
        {
            // Relative accuracy, also in the tiny negative tail (−6 gives −5.9e−9).
            y.Should().BeApproximately((float)expected, (float)((Math.Abs(expected) * 2e-6) + 1e-12));
        }
    }

    [Fact]
    public void Gelu_new_matches_the_tanh_form_and_differs_from_exact_gelu()
    {
        var xs = Enumerable.Range(0, 1100).Select(i => (float)((i - 550) / 80.0)).ToArray();
        var approx = (float[])xs.Clone();
        var exact = (float[])xs.Clone();
        Ops.Activation(approx, ActivationFunction.GeluNew);
        Ops.Activation(exact, ActivationFunction.Gelu);
        for (var i = 0; i < xs.Length; i++)
        {
            double x = xs[i];
            var expected = 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));
            approx[i].Should().BeApproximately((float)expected, 1e-6f, $"x = {x}");
        }

        // The two forms agree to about 1e-3 but are not the same function: check a point where they differ.
        var at1 = Array.IndexOf(xs, 1f);
        Math.Abs(approx[at1] - exact[at1]).Should().BeInRange(1e-5f, 1e-3f);
    }

    [Fact]
    public void Undefined_activation_is_refused()
    {
        var act = () => Ops.Activation(new float[2], (ActivationFunction)99);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Not an activation function.*");
    }

    /// <summary>Python's math.erf and math.erfc.</summary>
    [Theory]
    [InlineData(0.1f, 0.1124629160182849)]
    [InlineData(0.5f, 0.5204998778130465)]
    [InlineData(1f, 0.8427007929497149)]
    [InlineData(2f, 0.9953222650189527)]
    [InlineData(3.5f, 0.9999992569016276)]
    public void Erf_matches_known_values(float x, double expected)
    {
        Ops.Erf(x).Should().BeApproximately((float)expected, 2e-7f);
        Ops.Erf(-x).Should().BeApproximately((float)-expected, 2e-7f);
        Ops.Erf(0f).Should().Be(0f);
    }

    [Theory]
    [InlineData(3f, 2.2090496998585438e-05)]
    [InlineData(5f, 1.5374597944280351e-12)]
    [InlineData(8f, 1.1224297172982928e-29)]
    public void Erfc_keeps_relative_accuracy_in_the_tail(float x, double expected)
    {
        var actual = Ops.Erfc(x);
        (Math.Abs(actual - expected) / expected).Should().BeLessThan(1e-5);
        Ops.Erfc(-x).Should().BeApproximately((float)(2 - expected), 2e-7f);
    }
}
