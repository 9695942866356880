using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Surgery;
using CircuitDsl.Tests.Circuits;
using MathNet.Numerics.LinearAlgebra;

namespace CircuitDsl.Tests.Surgery;

/// <summary>
/// Rotations of every architecture against exact identities: orthogonality, the all-ones direction, logits unchanged by
/// the residual stream's and the heads' rotations and changed by the neurons' (PyTorch's view: <c>TorchSurgeryTests</c>).
/// </summary>
public sealed class RotationTests
{
    private static readonly int[][] Tokens = [[1, 4, 2, 9, 4, 2], [3, 3, 0, 10, 7, 5]];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(9)]
    public void Random_rotations_are_orthogonal_and_the_constrained_one_fixes_the_all_ones_vector(int n)
    {
        var free = Rotation.RandomOrthogonal(n, new Random(3));
        var fixing = Rotation.RandomOrthogonalFixingOnes(n, new Random(3));
        var identity = Matrix<double>.Build.DenseIdentity(n);
        var ones = Vector<double>.Build.Dense(n, 1);

        (free.TransposeThisAndMultiply(free) - identity).InfinityNorm().Should().BeLessThan(1e-12);
        (fixing.TransposeThisAndMultiply(fixing) - identity).InfinityNorm().Should().BeLessThan(1e-12);
        (ones * fixing - ones).InfinityNorm().Should().BeLessThan(1e-12);
        if (n > 2)
        {
            (ones * free - ones).InfinityNorm().Should().BeGreaterThan(0.1, "an unconstrained rotation moves the all-ones vector");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_rotation()
    {
        Rotation.RandomOrthogonal(5, new Random(11)).Should().BeEquivalentTo(Rotation.RandomOrthogonal(5, new Random(11)));
        Rotation.RandomOrthogonal(5, new Random(11)).Equals(Rotation.RandomOrthogonal(5, new Random(12))).Should().BeFalse();
    }

    public static TheoryData<Normalization, bool, bool> Architectures => new()
    {
        { Normalization.None, true, false },
        { Normalization.None, false, false },
        { Normalization.LN, false, false },
        { Normalization.LN, true, false },
        { Normalization.LNPre, false, false },
        { Normalization.LNPre, true, true },
        { Normalization.None, false, true },
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Rotating_the_residual_stream_or_the_head_bases_leaves_the_logits_unchanged(Normalization norm, bool attnOnly, bool shortformer)
    {
        var w = RandomWeights.Architecture(norm, attnOnly, shortformer, layers: 2, seed: 21);

        foreach (var what in new[] { RotatedBases.ResidualStream, RotatedBases.HeadBases, RotatedBases.ResidualStream | RotatedBases.HeadBases })
        {
            var rotated = Rotation.Rotate(w, what, seed: 4);
            var change = Rotation.Compare(w, rotated, Tokens);

            change.Relative.Should().BeLessThan(1e-5, $"{what} of a {norm} model");
            rotated.Config.Should().Be(w.Config, "the rotated model is a model of the same architecture");
            Moved(w, rotated).Should().BeGreaterThan(0.05, $"{what} changes the weights themselves");
        }
    }

    [Theory]
    [InlineData(Normalization.LN)]
    [InlineData(Normalization.LNPre)]
    public void With_LayerNorm_a_rotation_that_moves_the_all_ones_direction_breaks_the_model(Normalization norm)
    {
        var w = RandomWeights.Architecture(norm, attnOnly: false, shortformer: false, layers: 2, seed: 21);
        var free = Rotation.RandomOrthogonal(w.Config.DModel, new Random(4));

        var change = Rotation.Compare(w, Rotation.RotateResidualStream(w, free), Tokens);

        change.Relative.Should().BeGreaterThan(1e-2, "LayerNorm subtracts the mean, the component along the all-ones direction");
    }

    [Fact]
    public void Rotating_the_residual_stream_back_by_the_transpose_restores_every_weight()
    {
        // Without LayerNorm nothing is folded, so the rotation is its own record: Rᵀ undoes R on every writer and reader.
        // (That an unconstrained rotation leaves such a model's logits unchanged is the Normalization.None rows above.)
        var w = RandomWeights.Architecture(Normalization.None, attnOnly: false, shortformer: false, layers: 2, seed: 21);
        var r = Rotation.RandomOrthogonal(w.Config.DModel, new Random(4));

        var rotated = Rotation.RotateResidualStream(w, r);
        var back = Rotation.RotateResidualStream(rotated, r.Transpose());

        Moved(w, rotated).Should().BeGreaterThan(0.05);
        Moved(w, back).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void An_LN_model_keeps_its_architecture_with_its_LayerNorm_weights_folded_into_the_readers()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 21);

        var rotated = Rotation.Rotate(w, RotatedBases.ResidualStream, seed: 1);

        rotated.Config.NormalizationType.Should().Be(Normalization.LN);
        rotated.LnFinalW!.Span.ToArray().Should().AllSatisfy(x => x.Should().Be(1));
        rotated.LnFinalB!.Span.ToArray().Should().AllSatisfy(x => x.Should().Be(0));
        rotated.Blocks[1].Ln2W!.Span.ToArray().Should().AllSatisfy(x => x.Should().Be(1));
    }

    [Fact]
    public void Rotating_neurons_changes_the_logits_but_permuting_them_does_not()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: false, shortformer: false, layers: 2, seed: 21);
        var dMlp = w.Config.DMlp!.Value;
        var permutation = Matrix<double>.Build.Dense(dMlp, dMlp, (i, j) => j == (i + 3) % dMlp ? 1 : 0);

        var rotated = Rotation.Compare(w, Rotation.Rotate(w, RotatedBases.Neurons, seed: 4), Tokens);
        var permuted = Rotation.Compare(w, Rotation.RotateNeurons(w, [permutation, permutation]), Tokens);

        rotated.Relative.Should().BeGreaterThan(1e-2, "the activation acts neuron by neuron: the neuron basis is privileged");
        rotated.LossAfter.Should().NotBe(rotated.LossBefore);
        permuted.Relative.Should().BeLessThan(1e-6, "a permutation of neurons is the one change of neuron basis that commutes with the activation");
    }

    [Fact]
    public void Scores_measured_on_processed_weights_are_unchanged_by_the_rotations()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: true, shortformer: false, layers: 2, seed: 5);
        var rotated = Rotation.Rotate(w, RotatedBases.ResidualStream | RotatedBases.HeadBases, seed: 2);

        var (a, b) = (new ModelAnalysis(w), new ModelAnalysis(rotated));

        a.Composition.Entries().Zip(b.Composition.Entries()).Should()
            .AllSatisfy(p => p.Second.Score.Should().BeApproximately(p.First.Score, 1e-4));
        b.Copying.Score(new HeadId(1, 1)).Should().BeApproximately(a.Copying.Score(new HeadId(1, 1)), 1e-4);
    }

    [Theory]
    [InlineData(RotatedBases.None, "Nothing to rotate*")]
    [InlineData(RotatedBases.Neurons, "*attention-only*")]
    public void Impossible_rotations_are_refused(RotatedBases what, string message)
    {
        var w = RandomWeights.Architecture(Normalization.None, attnOnly: true, shortformer: false, layers: 1, seed: 1);

        var act = () => Rotation.Rotate(w, what, seed: 1);

        act.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void A_shortformer_with_LayerNorm_weights_cannot_have_its_residual_stream_rotated()
    {
        var w = RandomWeights.Architecture(Normalization.LN, attnOnly: true, shortformer: true, layers: 1, seed: 1);

        var act = () => Rotation.Rotate(w, RotatedBases.ResidualStream, seed: 1);

        act.Should().Throw<ArgumentException>().WithMessage("*shortformer*LayerNorm*cannot be folded*");
        Rotation.Compare(w, Rotation.Rotate(w, RotatedBases.HeadBases, seed: 1), Tokens).Relative.Should().BeLessThan(1e-5);
    }

    private static double Moved(TransformerWeights a, TransformerWeights b) =>
        a.ToStateDict().Zip(b.ToStateDict()).Max(p => p.First.Value.Span.ToArray().Zip(p.Second.Value.Span.ToArray()).Max(x => Math.Abs(x.First - x.Second)));
}
