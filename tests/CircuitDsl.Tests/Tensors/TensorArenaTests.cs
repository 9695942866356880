using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>An arena hands one batch's arrays to the next, zero-filled, and makes new ones only when none fits.</summary>
public sealed class TensorArenaTests
{
    [Fact]
    public void After_a_reset_a_tensor_reuses_the_smallest_free_array_that_holds_it_zero_filled()
    {
        var arena = new TensorArena();
        var big = arena.Take(4, 100);
        var small = arena.Take(2, 10);
        big.Span.Fill(7f);
        small.Span.Fill(3f);
        arena.Take(2, 10).Span.Overlaps(small.Span).Should().BeFalse("an array taken since the last reset is not handed out twice");

        arena.Reset();
        var again = arena.Take(3, 5);

        again.Shape.ToArray().Should().Equal(3, 5);
        again.Span.Overlaps(small.Span).Should().BeTrue("15 floats fit the 20-float arrays; the first of those is reused");
        again.Span.IndexOfAnyExcept(0f).Should().Be(-1, "a reused array is cleared where the tensor lies");
        var larger = arena.Take(300);
        larger.Span.Overlaps(big.Span).Should().BeTrue("only the 400-float array holds 300 floats");
        larger.Span.IndexOfAnyExcept(0f).Should().Be(-1);
        arena.Take(1000).Span.Overlaps(big.Span).Should().BeFalse("no free array holds 1,000 floats: a new one is made");
    }
}
