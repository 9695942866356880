using System.Collections.Immutable;
using CircuitDsl.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>What one run of the generator gave.</summary>
public sealed record GeneratorRun(
    CSharpCompilation Input,
    Compilation Output,
    GeneratorDriver Driver,
    GeneratorDriverRunResult Result)
{
    /// <summary>The generator's own diagnostics (CDSL…), in source order.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics => Result.Diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ToList();

    /// <summary>The generated sources by hint name.</summary>
    public IReadOnlyDictionary<string, string> Sources =>
        Result.Results.SelectMany(r => r.GeneratedSources).ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>Errors and warnings of the compilation with the generated code added.</summary>
    public IReadOnlyList<Diagnostic> OutputProblems =>
        Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
}

/// <summary>Runs <see cref="CircuitDslGenerator"/> over C# sources the way the compiler does.</summary>
public static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Parse);

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        // The few framework assemblies specs and generated code use: binding against all of them would make
        // every compilation (and so the fuzz test) several times slower.
        string[] needed = ["System.Private.CoreLib.dll", "System.Runtime.dll", "System.Collections.dll", "System.Linq.dll",
            "System.Memory.dll", "System.Text.Json.dll", "netstandard.dll"];
        var framework = trusted.Where(p => needed.Contains(Path.GetFileName(p)));
        return framework
            .Append(typeof(HeadId).Assembly.Location)
            .Append(typeof(CircuitDsl.Tensors.Tensor).Assembly.Location)
            .Distinct()
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    });

    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create(
            "Specs",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Spec{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver NewDriver() =>
        CSharpGeneratorDriver.Create(
            [new CircuitDslGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorRun Run(params string[] sources) => Run(NewDriver(), Compile(sources));

    public static GeneratorRun Run(GeneratorDriver driver, CSharpCompilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return new GeneratorRun(compilation, output, driver, driver.GetRunResult());
    }

    /// <summary>(line, column), 1-based as an IDE shows them, of the first occurrence of <paramref name="text"/>.</summary>
    public static (int Line, int Column) PositionOf(string source, string text, int occurrence = 1)
    {
        var index = -1;
        for (var i = 0; i < occurrence; i++)
        {
            index = source.IndexOf(text, index + 1, StringComparison.Ordinal);
            index.Should().BeGreaterThanOrEqualTo(0, $"the source should contain {text} (occurrence {occurrence})");
        }

        var before = source.Substring(0, index);
        var line = before.Count(c => c == '\n') + 1;
        var column = index - (before.LastIndexOf('\n') + 1) + 1;
        return (line, column);
    }

    /// <summary>(line, column), 1-based, where a diagnostic starts.</summary>
    public static (int Line, int Column) StartOf(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan().StartLinePosition;
        return (span.Line + 1, span.Character + 1);
    }
}
