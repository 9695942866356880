using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// Every quantitative statement in a spec's prose is a claim, or it goes: the doc comments of
/// <c>specs/CircuitDsl.Specs/*.cs</c> may state a number only where a claim checks it. A number in a hypothesis's
/// comment must be an argument of that hypothesis's attribute (its bound, a head it names, OnSeeds); in a class's
/// comment, an argument of any attribute in its file (its own, its hypotheses'). Not scanned: code and formulas in
/// <c>&lt;c&gt;</c>, layer names ("layer 0", "one-layer"), and citations of the paper, marked <c>&lt;cite&gt;…&lt;/cite&gt;</c>
/// (a quotation or figure from Elhage et al., whose numbers are the paper's, not this model's). Fraction and multiple
/// words ("a third", "twice", "percent") count as numbers and are never allowed.
/// </summary>
public sealed partial class ProseTests
{
    private static readonly string SpecsFolder = Path.Combine(RepositoryRoot(), "specs", "CircuitDsl.Specs");

    public static TheoryData<string> SpecFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(SpecsFolder, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            data.Add(file!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SpecFiles))]
    public void Every_number_in_a_spec_comment_is_a_claim_argument_or_a_marked_citation(string file)
    {
        var problems = Unchecked(File.ReadAllText(Path.Combine(SpecsFolder, file)));

        problems.Should().BeEmpty($"{file}'s prose may only state numbers its claims check");
    }

    [Fact]
    public void The_scanner_finds_numbers_no_claim_checks_and_allows_bounds_heads_layers_code_and_citations()
    {
        const string Source = """
            /// <summary>Head 0.2 of layer 1 is strong; about a third of <c>1/sqrt(d_model)</c>. <cite>Figure 2</cite></summary>
            [Circuit(typeof(M))]
            public static partial class C
            {
                /// <summary>Head 0.2 scores at least 0.80 on 4 seeds, about 0.1 nats, twice, 17 of them.</summary>
                [PreviousTokenHead("0.2", AtLeast = 0.8, OnSeeds = 4)]
                public static partial Evidence P(M model);

                /// <summary>The strongest layer-1 induction head, 1.induction, of a two-layer model.</summary>
                [InductionHead("1.induction", AtLeast = 0.9)]
                public static partial Evidence I(M model);
            }
            """;

        Unchecked(Source).Should().BeEquivalentTo(["class C: 'third'", "P: '0.1'", "P: 'twice'", "P: '17'"]);
    }

    [Fact]
    public void The_specs_folder_has_spec_files() => SpecFiles().Should().HaveCountGreaterThanOrEqualTo(4);

    /// <summary>Each unchecked number as <c>member: 'text'</c>.</summary>
    private static List<string> Unchecked(string source)
    {
        var lines = source.Split('\n');
        var blocks = new List<(string Member, bool IsClass, string Doc, HashSet<double> Allowed)>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].TrimStart().StartsWith("///", StringComparison.Ordinal))
            {
                continue;
            }

            var doc = new List<string>();
            for (; i < lines.Length && lines[i].TrimStart().StartsWith("///", StringComparison.Ordinal); i++)
            {
                doc.Add(lines[i].TrimStart()[3..]);
            }

            var attributes = new List<string>();
            for (; i < lines.Length && !Declaration().IsMatch(lines[i]); i++)
            {
                attributes.Add(lines[i]);
            }

            var declaration = i < lines.Length ? Declaration().Match(lines[i]) : null;
            var isClass = declaration?.Groups["kind"].Value is "class";
            var member = declaration is null ? "?" : (isClass ? "class " : "") + declaration.Groups["name"].Value;
            blocks.Add((member, isClass, string.Join("\n", doc), NumbersIn(string.Join("\n", attributes))));
        }

        // A class's prose may name what any claim in the file checks; a claim's prose only what it checks itself.
        var anyClaim = blocks.SelectMany(b => b.Allowed).ToHashSet();
        var problems = new List<string>();
        foreach (var (member, isClass, doc, allowed) in blocks)
        {
            foreach (var number in NumbersInProse(doc))
            {
                if (!(double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && (isClass ? anyClaim : allowed).Contains(value)))
                {
                    problems.Add($"{member}: '{number}'");
                }
            }
        }

        return problems;
    }

    /// <summary>The numbers a comment states, outside code, citations and layer names.</summary>
    private static IEnumerable<string> NumbersInProse(string comment)
    {
        var root = XElement.Parse("<doc>" + comment + "</doc>");
        foreach (var skipped in root.Descendants().Where(e => e.Name.LocalName is "c" or "cite" or "code").ToList())
        {
            skipped.Remove();
        }

        var text = LayerName().Replace(root.Value, " ");
        return Number().Matches(text).Select(m => m.Value);
    }

    /// <summary>Every number written in attribute arguments: literals, and the parts of head ids such as "1.3" and "0.previous-token".</summary>
    private static HashSet<double> NumbersIn(string attributes)
    {
        var numbers = new HashSet<double>();
        foreach (Match m in Literal().Matches(attributes))
        {
            numbers.Add(double.Parse(m.Value, CultureInfo.InvariantCulture));
        }

        return numbers;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CircuitDsl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("CircuitDsl.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\s*(public|internal)\s[^(=]*?\b(?<kind>class|Evidence|double|float)\s+(?<name>\w+)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"(?i)\blayers?[- ]\d+\b|\b\d+-layer\b")]
    private static partial Regex LayerName();

    [GeneratedRegex(@"(?i)(?<![\w.])\d+(?:\.\d+)?(?![\w])|\b(?:thirds?|quarters?|twice|thrice|percent|dozen)\b|%")]
    private static partial Regex Number();

    [GeneratedRegex(@"(?<![\w.])\d+(?:\.\d+)?")]
    private static partial Regex Literal();
}
