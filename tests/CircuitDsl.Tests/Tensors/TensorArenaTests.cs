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

    [Fact]
    public void Releasing_since_a_mark_frees_what_was_taken_after_it_but_the_kept_tensor()
    {
        var arena = new TensorArena();
        var before = arena.Take(8);
        var mark = arena.Taken;
        var temporary = arena.Take(8);
        var kept = arena.Take(8);
        kept.Span.Fill(5f);
        before.Span.Fill(2f);

        arena.ReleaseSince(mark, kept);

        arena.Taken.Should().Be(mark + 1, "only the kept tensor stays taken after the mark");
        var next = arena.Take(8);
        next.Span.Overlaps(temporary.Span).Should().BeTrue("the released array is the only free one");
        arena.Take(8).Span.Overlaps(kept.Span).Should().BeFalse("the kept array is still taken");
        kept.Span.IndexOfAnyExcept(5f).Should().Be(-1, "the kept tensor is not cleared");
        before.Span.IndexOfAnyExcept(2f).Should().Be(-1, "a tensor taken before the mark is untouched");
        FluentActions.Invoking(() => arena.ReleaseSince(arena.Taken + 1, kept)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
