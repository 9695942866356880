using CircuitDsl.Testing;

namespace CircuitDsl.Tests.Testing;

public sealed class SnapshotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("snapshot-tests").FullName;

    private string Stem => Path.Combine(_dir, "Owner.Method");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_matching_snapshot_passes_and_leaves_no_received_file()
    {
        File.WriteAllText(Stem + ".verified.txt", "a\nb");
        File.WriteAllText(Stem + ".received.txt", "stale");

        Snapshot.VerifyAt("a\r\nb", Stem, "txt", accept: false);

        File.Exists(Stem + ".received.txt").Should().BeFalse();
    }

    [Fact]
    public void A_missing_snapshot_fails_and_writes_the_received_file()
    {
        var act = () => Snapshot.VerifyAt("new output", Stem, "txt", accept: false);

        act.Should().Throw<SnapshotMismatchException>().WithMessage("No verified snapshot Owner.Method.verified.txt yet*CIRCUITDSL_ACCEPT=1*");
        File.ReadAllText(Stem + ".received.txt").Should().Be("new output");
        File.Exists(Stem + ".verified.txt").Should().BeFalse();
    }

    [Fact]
    public void A_differing_snapshot_fails_with_a_line_diff()
    {
        File.WriteAllText(Stem + ".verified.json", "one\ntwo\nthree\nfour\nfive\nsix\nseven");

        var act = () => Snapshot.VerifyAt("one\ntwo\nthree\nFOUR\nfive\nsix\nseven", Stem, "json", accept: false);

        var message = act.Should().Throw<SnapshotMismatchException>().Which.Message;
        message.Should().Contain("-    4: four").And.Contain("+    4: FOUR").And.Contain("     3: three");
        message.Should().NotContain("one", "only two lines of context are shown around a change");
        File.ReadAllText(Stem + ".received.json").Should().Contain("FOUR");
    }

    [Fact]
    public void Accepting_replaces_the_verified_snapshot()
    {
        File.WriteAllText(Stem + ".verified.txt", "old");

        Snapshot.VerifyAt("new", Stem, "txt", accept: true);

        File.ReadAllText(Stem + ".verified.txt").Should().Be("new");
        File.Exists(Stem + ".received.txt").Should().BeFalse();
    }

    [Fact]
    public void Verify_names_the_file_after_the_test_class_and_method()
    {
        // This test's own snapshot sits beside this file: SnapshotTests.Verify_names_the_file_after_the_test_class_and_method.verified.txt
        Snapshot.Verify("snapshots live beside the test that owns them\n");
    }

    [Fact]
    public void The_diff_of_inserted_and_deleted_lines_aligns_the_rest()
    {
        var diff = LineDiff.Describe("a\nb\nc\nd", "a\nc\nd\ne");

        diff.Should().Contain("-    2: b").And.Contain("+    4: e").And.NotContain("+    2: c");
    }
}
