using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// Broken specs of every kind (truncated anywhere, wrong argument types, missing arguments, absurd numbers,
/// missing keywords): the generator never throws, so the compiler never reports CS8785.
/// </summary>
public sealed partial class FuzzTests
{
    private static readonly string Spec = SpecSources.TwoLayer + "\n" + SpecSources.Induction
        .Replace("using CircuitDsl;\nusing CircuitDsl.Reports;\n\nnamespace Specs;\n", "using CircuitDsl.Reports;\n", StringComparison.Ordinal);

    [Fact]
    public void Truncations_at_every_seventeenth_character()
    {
        // 17 is prime, so the cuts fall at every offset within tokens and lines.
        var variants = Enumerable.Range(0, (Spec.Length / 17) + 1).Select(i => Spec.Substring(0, Math.Min(Spec.Length, i * 17)));
        RunAll(variants).Should().BeGreaterThan(100);
    }

    [Fact]
    public void Every_number_replaced_by_absurd_or_wrongly_typed_values()
    {
        string[] replacements = ["-1", "2147483647", "-2147483648", "double.NaN", "\"0.5\"", "1 / 0", "(Normalization)99"];
        RunAll(Replacements(NumberPattern(), replacements)).Should().BeGreaterThan(200);
    }

    [Fact]
    public void Every_string_replaced_by_malformed_or_wrongly_typed_values()
    {
        string[] replacements = ["null", "\"9.9\"", "\"1.1.1\"", "\"99999999999.0\"", "\"١.١\"", "0.2", "new[] { \"0.2\" }"];
        RunAll(Replacements(StringPattern(), replacements)).Should().BeGreaterThan(100);
    }

    [Fact]
    public void Every_argument_and_keyword_removed_in_turn()
    {
        var removals = Replacements(NamedArgumentPattern(), [""])
            .Concat(Replacements(KeywordPattern(), [""]))
            .Concat(Replacements(TypeofPattern(), ["typeof(int)", "typeof(Missing)", "typeof(Induction)", "null", "typeof(Toy2L[])", "typeof(System.Collections.Generic.List<>)"]));
        RunAll(removals).Should().BeGreaterThan(80);
    }

    [Fact]
    public void Hostile_shapes_of_specs()
    {
        string[] variants =
        [
            "[CircuitDsl.Transformer(NLayers = 2, NHeads = 2, DModel = 8, DHead = 4, DVocab = 8, NCtx = 8, AttnOnly = true)] partial class Global;",
            "namespace A { [CircuitDsl.Transformer(NLayers = 1, NHeads = 1, DModel = 8, DHead = 8, DVocab = 8, NCtx = 8, AttnOnly = true)] public partial class Outer { [CircuitDsl.Circuit(typeof(Outer))] public static partial class Nested { } } }",
            "[CircuitDsl.Circuit(typeof(Self))] public static partial class Self { [CircuitDsl.PreviousTokenHead(\"0.0\", AtLeast = 1)] public static partial CircuitDsl.Reports.Evidence X(Self s); }",
            "[CircuitDsl.Transformer(NLayers = 128, NHeads = 256, DModel = 1, DHead = 1, DVocab = 1, NCtx = 1, AttnOnly = true)] public partial class Huge;",
            "[CircuitDsl.Transformer(NLayers = 1, NHeads = 1, DModel = 8, DHead = 8, DVocab = 8, NCtx = 8, AttnOnly = true)][CircuitDsl.Transformer] public partial class Twice;",
            "[CircuitDsl.Transformer(NLayers = 1, NHeads = 1, DModel = 8, DHead = 8, DVocab = 8, NCtx = 8, AttnOnly = true)] public partial struct Struct;",
            "[CircuitDsl.Transformer(NLayers = 1, NHeads = 1, DModel = 8, DHead = 8, DVocab = 8, NCtx = 8, AttnOnly = true)] public partial interface IFace;",
            "[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { [CircuitDsl.Faithfulness(null, Task = \"t\", Recovers = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m); }",
            "[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { [CircuitDsl.Faithfulness(new string[0], Task = \"t\", Recovers = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m); }",
            "[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { [CircuitDsl.Composes(\"1.1\", Via = (CircuitDsl.CompositionKind)7, From = \"0.0\", AtLeast = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m); }",
            "[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { [CircuitDsl.PreviousTokenHead(\"0.0\", AtLeast = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m) => null!; }",
            "[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { [CircuitDsl.PreviousTokenHead(\"0.0\", AtLeast = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m); public static partial CircuitDsl.Reports.Evidence F(Toy2L m) => null!; }",
            "/// <summary><unclosed & </summary>\n[CircuitDsl.Circuit(typeof(Toy2L))] public static partial class C { /// <summary><see cref=\"\"/> <para>x</para></summary>\n[CircuitDsl.PreviousTokenHead(\"0.0\", AtLeast = 0.5)] public static partial CircuitDsl.Reports.Evidence F(Toy2L m); }",
        ];
        RunAll(variants.Select(v => SpecSources.TwoLayer + "\n" + v)).Should().Be(variants.Length);
    }

    private static IEnumerable<string> Replacements(Regex pattern, string[] replacements)
    {
        foreach (Match match in pattern.Matches(Spec))
        {
            foreach (var replacement in replacements)
            {
                yield return Spec.Substring(0, match.Index) + replacement + Spec.Substring(match.Index + match.Length);
            }
        }
    }

    /// <summary>Runs the generator on every variant; returns how many ran. Fails on the first exception it caused.</summary>
    private static int RunAll(IEnumerable<string> variants)
    {
        var count = 0;
        var stopwatch = Stopwatch.StartNew();
        foreach (var variant in variants)
        {
            var compilation = GeneratorHarness.Compile(variant);
            var run = GeneratorHarness.Run(GeneratorHarness.NewDriver(), compilation);
            var exception = run.Result.Results[0].Exception;
            exception.Should().BeNull($"the generator must not throw on:\n{variant}\n");
            run.Result.Diagnostics.Should().NotContain(d => d.Id == "CS8785", $"on:\n{variant}\n");
            count++;
        }

        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(2), "fuzzing must not slow the suite down");
        return count;
    }

    [GeneratedRegex(@"(?<![\w.])\d+(\.\d+)?(?![\w.])")]
    private static partial Regex NumberPattern();

    [GeneratedRegex("\"[^\"\\n]*\"")]
    private static partial Regex StringPattern();

    [GeneratedRegex(@",\s*\w+\s*=\s*[^,)\]]+")]
    private static partial Regex NamedArgumentPattern();

    [GeneratedRegex(@"\b(static|partial|public|internal|sealed|Evidence|Toy2L|class|namespace|using)\b")]
    private static partial Regex KeywordPattern();

    [GeneratedRegex(@"typeof\(\w+\)")]
    private static partial Regex TypeofPattern();
}
