using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// The corpus in <c>Mistakes/</c>: one spec file per mistake a researcher makes typing specs by hand. Each starts with
/// <c>// Mistake: …</c> and marks every diagnostic it must get with <c>/*!ID: text*/</c> written just before the code the
/// diagnostic points at. For CDSL ids the set is exact, and <c>text</c> is what the user wrote there, which the
/// message must repeat; CS ids are the compiler's own errors, which must be reported there (the compiler may add
/// more). In every file the generator runs without throwing and its code adds no error of its own.
/// </summary>
public sealed partial class MistakeCorpusTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Mistakes");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            data.Add(file!);
        }

        return data;
    }

    [Fact]
    public void The_corpus_covers_every_diagnostic_and_some_compiler_errors()
    {
        var ids = Directory.GetFiles(Folder, "*.cs").SelectMany(f => Parse(File.ReadAllText(f)).Expected).Select(e => e.Id).ToHashSet();

        Directory.GetFiles(Folder, "*.cs").Should().HaveCountGreaterThanOrEqualTo(30);
        Enumerable.Range(1, 16).Concat([30, 31]).Select(i => $"CDSL{i:000}").Should().BeSubsetOf(ids);
        Enumerable.Range(17, 4).Select(i => $"CDSL{i:000}").Should().BeSubsetOf(ids, "the path claims' diagnostics");
        Enumerable.Range(25, 5).Select(i => $"CDSL{i:000}").Should().BeSubsetOf(ids, "the [Patching] claim's diagnostics");
        Enumerable.Range(37, 4).Select(i => $"CDSL{i:000}").Should().BeSubsetOf(ids, "the data-file and detection-batch diagnostics");
        ids.Where(id => id.StartsWith("CS", StringComparison.Ordinal)).Should().HaveCountGreaterThanOrEqualTo(3);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Each_mistake_gets_exactly_its_diagnostics_where_it_was_made(string file)
    {
        var corpus = Parse(File.ReadAllText(Path.Combine(Folder, file)));
        corpus.Description.Should().NotBeNullOrWhiteSpace("every corpus file starts with '// Mistake: what the user did'");

        var run = GeneratorHarness.Run(corpus.Source);

        run.Result.Results.Should().OnlyContain(r => r.Exception == null, "the generator never throws");
        run.Output.GetDiagnostics().Select(d => d.Id).Should().NotContain(["CS8785", "AD0001"], "the generator never fails");
        run.OutputProblems.Where(d => d.Location.SourceTree is { } tree && tree.FilePath != "Spec0.cs")
            .Should().BeEmpty("generated code adds no error or warning of its own");

        var expected = corpus.Expected.Where(e => e.Id.StartsWith("CDSL", StringComparison.Ordinal)).Select(e => e.Where).ToList();
        var actual = run.Diagnostics.Select(Where).ToList();
        actual.Should().BeEquivalentTo(expected, $"these are the diagnostics {file} marks; the generator reported:\n{Show(run.Diagnostics)}");

        foreach (var diagnostic in run.Diagnostics)
        {
            var mark = corpus.Expected.Single(e => e.Where == Where(diagnostic));
            var message = diagnostic.GetMessage(CultureInfo.InvariantCulture);
            var written = corpus.Source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length);
            mark.Says.Should().NotBeNullOrEmpty($"{mark.Id} in {file} names what the user wrote: /*!{mark.Id}: text*/");
            written.Should().Contain(mark.Says, $"{mark.Id} points at what the user wrote");
            message.Should().Contain(mark.Says, $"the message of {mark.Id} repeats what the user wrote");
        }

        var compiler = run.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(Where).ToList();
        foreach (var mark in corpus.Expected.Where(e => e.Id.StartsWith("CS", StringComparison.Ordinal)))
        {
            compiler.Should().Contain(mark.Where, $"the compiler reports the C# mistake; it reported:\n{Show(run.Output.GetDiagnostics())}");
        }

        // A method whose attribute (the line above it) was rejected, while the method itself is fine, still gets a body.
        var rejectedAttributes = corpus.Expected.Where(e => e.Id.StartsWith("CDSL", StringComparison.Ordinal)).Select(e => e.Line).ToHashSet();
        var marked = corpus.Expected.Where(e => e.Id == "CS8795").Select(e => e.Line).ToHashSet();
        var missingBodies = run.Output.GetDiagnostics().Where(d => d.Id == "CS8795")
            .Select(d => d.Location.GetLineSpan().StartLinePosition.Line + 1)
            .Where(line => rejectedAttributes.Contains(line - 1) && !rejectedAttributes.Contains(line) && !marked.Contains(line));
        missingBodies.Should().BeEmpty("a hypothesis whose attribute is rejected gets its CDSL error alone, not a missing-implementation error beside it");

        if (corpus.Expected.Count == 0)
        {
            run.OutputProblems.Should().BeEmpty($"{file} is no mistake: it compiles cleanly with the generated code");
        }
    }

    /// <summary>The source with its markers removed, and where each marker was.</summary>
    private static Corpus Parse(string marked)
    {
        var description = DescriptionPattern().Match(marked) is { Success: true } m ? m.Groups[1].Value : null;
        var expected = new List<Expectation>();
        var source = new System.Text.StringBuilder();
        var last = 0;
        foreach (Match marker in MarkerPattern().Matches(marked))
        {
            source.Append(marked, last, marker.Index - last);
            last = marker.Index + marker.Length;
            var before = source.ToString();
            var line = before.Count(c => c == '\n') + 1;
            var column = before.Length - (before.LastIndexOf('\n') + 1) + 1;
            var says = marker.Groups["says"].Success ? marker.Groups["says"].Value : null;
            expected.Add(new Expectation(marker.Groups["id"].Value, line, column, says));
        }

        source.Append(marked, last, marked.Length - last);
        return new Corpus(description, source.ToString(), expected);
    }

    private static string Where(Diagnostic diagnostic)
    {
        var start = diagnostic.Location.GetLineSpan().StartLinePosition;
        return $"{diagnostic.Id} at {start.Line + 1}:{start.Character + 1}";
    }

    private static string Show(IEnumerable<Diagnostic> diagnostics) =>
        string.Join("\n", diagnostics.Select(d => $"  {Where(d)}: {d.GetMessage(CultureInfo.InvariantCulture)}"));

    [GeneratedRegex(@"\A// Mistake: ([^\n]+)")]
    private static partial Regex DescriptionPattern();

    [GeneratedRegex(@"/\*!(?<id>CDSL\d{3}|CS\d{4})(: (?<says>[^*]+))?\*/")]
    private static partial Regex MarkerPattern();

    private sealed record Corpus(string? Description, string Source, IReadOnlyList<Expectation> Expected);

    private sealed record Expectation(string Id, int Line, int Column, string? Says)
    {
        public string Where => $"{Id} at {Line}:{Column}";
    }
}
