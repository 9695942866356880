using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>Tensor layout operations against values worked out by hand.</summary>
public sealed class TensorTests
{
    // [2, 3, 2] holding 0..11: element (i, j, k) is 6i + 2j + k.
    private static Tensor Counting() => new(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 2, 3, 2);

    [Fact]
    public void Select_on_the_middle_axis_copies_that_slice_of_every_outer_row()
    {
        var selected = Counting().Select(axis: 1, index: 2);

        selected.HasShape(2, 2).Should().BeTrue();
        selected.Span.ToArray().Should().Equal(4f, 5f, 10f, 11f);
    }

    [Fact]
    public void Select_on_the_first_and_last_axes()
    {
        Counting().Select(axis: 0, index: 1).Span.ToArray().Should().Equal(6f, 7f, 8f, 9f, 10f, 11f);

        var last = Counting().Select(axis: 2, index: 1);
        last.HasShape(2, 3).Should().BeTrue();
        last.Span.ToArray().Should().Equal(1f, 3f, 5f, 7f, 9f, 11f);
    }

    [Fact]
    public void Select_copies_rather_than_views()
    {
        var tensor = Counting();
        var selected = tensor.Select(axis: 1, index: 0);

        selected.Span[0] = -1f;

        tensor.Span[0].Should().Be(0f);
    }

    [Fact]
    public void Select_outside_the_shape_names_the_axis_and_the_shape()
    {
        var tensor = Counting();

        tensor.Invoking(t => t.Select(axis: 3, index: 0)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("Axis 3 is outside a tensor of shape [2, 3, 2].*");
        tensor.Invoking(t => t.Select(axis: 1, index: 3)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("Index 3 is outside axis 1 of a tensor of shape [2, 3, 2].*");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(8, 8)]
    [InlineData(13, 70)]
    [InlineData(64, 33)]
    [InlineData(100, 768)]
    public void Transpose_puts_every_element_at_its_mirrored_index(int rows, int cols)
    {
        // Full 8 × 8 tiles go through registers, the ragged edges one element at a time: every shape lands the same way.
        var random = new Random(rows * 1000 + cols);
        var m = new Tensor(rows, cols);
        for (var i = 0; i < m.Length; i++)
        {
            m.Span[i] = (float)random.NextDouble();
        }

        var t = m.Transpose();

        t.Shape.ToArray().Should().Equal(cols, rows);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                t[j, i].Should().Be(m[i, j]);
            }
        }
    }
}
