using CircuitDsl.Circuits;
using CircuitDsl.Tensors;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Tests.Circuits;

/// <summary>Each named circuit against the naive double-precision product of the weights it is defined by.</summary>
public sealed class HeadCircuitsTests
{
    private static readonly CircuitDsl.Model.TransformerWeights W =
        RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 2, dModel: 6, dHead: 3, vocab: 9, ctx: 5), seed: 21);

    private static readonly HeadId H0 = new(0, 1);
    private static readonly HeadId H1 = new(1, 0);

    private static void ShouldEqual(FactoredMatrix actual, double[,] expected, int innerAtMost)
    {
        actual.InnerDimension.Should().BeLessThanOrEqualTo(innerAtMost);
        (actual.AB() - Matrix<double>.Build.DenseOfArray(expected)).FrobeniusNorm().Should().BeLessThan(1e-5);
    }

    private static Tensor T(Tensor m) => m.Transpose();

    [Fact]
    public void Head_circuits_are_the_products_their_names_say()
    {
        var b = W.Blocks[0];
        ShouldEqual(HeadCircuits.W_QK(W, H0), RandomWeights.Product(b.W_Q[1], T(b.W_K[1])), 3);
        ShouldEqual(HeadCircuits.W_OV(W, H0), RandomWeights.Product(b.W_V[1], b.W_O[1]), 3);
        ShouldEqual(HeadCircuits.FullOV(W, H0), RandomWeights.Product(W.W_E, b.W_V[1], b.W_O[1], W.W_U), 3);
        ShouldEqual(HeadCircuits.FullQK(W, H0), RandomWeights.Product(W.W_E, b.W_Q[1], T(b.W_K[1]), T(W.W_E)), 3);
        ShouldEqual(HeadCircuits.PositionalQK(W, H0), RandomWeights.Product(W.W_pos, b.W_Q[1], T(b.W_K[1]), T(W.W_pos)), 3);
        ShouldEqual(HeadCircuits.DirectPath(W), RandomWeights.Product(W.W_E, W.W_U), 6);
    }

    [Fact]
    public void The_virtual_head_and_the_qk_expansion_terms_are_the_paper_products()
    {
        var (b0, b1) = (W.Blocks[0], W.Blocks[1]);
        ShouldEqual(HeadCircuits.VirtualOV(W, H0, H1),
            RandomWeights.Product(W.W_E, b0.W_V[1], b0.W_O[1], b1.W_V[0], b1.W_O[0], W.W_U), 3);

        var x = HeadCircuits.QkExpansion(W, H1);
        Tensor[] qk = [b1.W_Q[0], T(b1.W_K[0])];
        Tensor[] ovT = [T(b0.W_O[1]), T(b0.W_V[1])];
        ShouldEqual(x.Direct(), RandomWeights.Product([W.W_E, .. qk, T(W.W_E)]), 3);
        ShouldEqual(x.QComposition(H0), RandomWeights.Product([W.W_E, b0.W_V[1], b0.W_O[1], .. qk, T(W.W_E)]), 3);
        ShouldEqual(x.KComposition(H0), RandomWeights.Product([W.W_E, .. qk, .. ovT, T(W.W_E)]), 3);
        var h00 = new HeadId(0, 0);
        ShouldEqual(x.Cross(h00, H0),
            RandomWeights.Product([W.W_E, b0.W_V[0], b0.W_O[0], .. qk, .. ovT, T(W.W_E)]), 3);
    }

    [Fact]
    public void Heads_outside_the_model_and_paths_that_go_backwards_are_refused_by_name()
    {
        var act = () => HeadCircuits.W_OV(W, new HeadId(2, 0));
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*2.0*2 layers × 2 heads*");
        var back = () => HeadCircuits.VirtualOV(W, H1, H0);
        back.Should().Throw<ArgumentException>().WithMessage("*1.0*earlier layer*0.1*");
    }
}
