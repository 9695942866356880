using System.Collections.Immutable;
using System.Globalization;
using CircuitDsl.Generators.Tests.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CircuitDsl.Generators.Tests.Documentation;

/// <summary>One fenced <c>```csharp</c> block of a Markdown page.</summary>
/// <param name="Page">The page, relative to the repository root, with forward slashes (<c>docs/guide.md</c>).</param>
/// <param name="Line">The 1-based line of the block's first line of code (the line after the opening fence).</param>
/// <param name="Code">The code, with the fence's indentation removed.</param>
/// <param name="IsFragment">Whether the fence says <c>```csharp fragment</c>: a deliberate excerpt that is not compiled.</param>
public sealed record CodeBlock(string Page, int Line, string Code, bool IsFragment)
{
    /// <summary>Where the block starts, as a compiler names a place: <c>docs/guide.md(12)</c>.</summary>
    public string Where => $"{Page}({Line.ToString(CultureInfo.InvariantCulture)})";
}

/// <summary>
/// The C# in the repository's Markdown: every <c>```csharp</c> block is extracted and compiled, with the CircuitDsl
/// generator, against the runtime, the way a user's project would build it. The blocks of one page are compiled
/// together (a page may declare a model in one block and a circuit about it in the next); different pages are
/// compiled apart. A block whose fence reads <c>```csharp fragment</c> is an excerpt and is skipped.
/// </summary>
public static class CodeBlocks
{
    /// <summary>The info-string word that marks a block as a deliberate fragment.</summary>
    public const string FragmentMarker = "fragment";

    // A user's test project has the SDK's implicit usings (ImplicitUsings=enable); blocks may rely on them.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        // Everything the test process can load: the framework, the runtime and Abstractions, xunit, FluentAssertions and
        // CircuitDsl.Assertions, which the guide's test examples use (FluentAssertions' Should() overloads need the
        // framework's assemblies).
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return trusted
            .Append(typeof(HeadId).Assembly.Location)
            .Append(typeof(CircuitDsl.Tensors.Tensor).Assembly.Location)
            .Append(typeof(FactAttribute).Assembly.Location)
            .Append(typeof(FluentAssertions.AssertionExtensions).Assembly.Location)
            .Append(typeof(CircuitDsl.Assertions.AssertionExtensions).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    });

    // Other info strings that render as C#: a block fenced with one would escape compilation.
    private static readonly HashSet<string> OtherCSharpNames = new(["cs", "c#", "C#", "CSharp", "Csharp", "CS"], StringComparer.Ordinal);

    /// <summary>The repository's root: the nearest folder above the test's base directory holding <c>CircuitDsl.sln</c>.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary><c>README.md</c> and every <c>docs/*.md</c>, relative to the root, in a stable order.</summary>
    public static IReadOnlyList<string> Pages() =>
        [
            "README.md",
            .. Directory.GetFiles(Path.Combine(RepositoryRoot, "docs"), "*.md")
                .Select(p => "docs/" + Path.GetFileName(p))
                .Order(StringComparer.Ordinal),
        ];

    /// <summary>The <c>```csharp</c> blocks of the page at <paramref name="page"/> (relative to the root).</summary>
    public static IReadOnlyList<CodeBlock> Read(string page) =>
        Extract(page, File.ReadAllText(Path.Combine(RepositoryRoot, page)));

    /// <summary>
    /// The <c>```csharp</c> blocks of Markdown <paramref name="markdown"/>, named as being on <paramref name="page"/>.
    /// Fences may be indented (a block inside a list item); the indentation of the opening fence is removed from the
    /// code. An unclosed block is an error (the page would render the rest of itself as code), and so is C# fenced
    /// under another name (<c>```cs</c>, <c>```c#</c>), which would escape compilation.
    /// </summary>
    public static IReadOnlyList<CodeBlock> Extract(string page, string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].TrimStart(' ');
            if (!fence.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = lines[i].Length - fence.Length;
            var info = fence[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var start = i + 1;
            var end = start;
            while (end < lines.Length && !lines[end].TrimStart(' ').StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }

            if (end == lines.Length)
            {
                throw new InvalidOperationException($"{page}({i + 1}): a code block is opened here and never closed.");
            }

            if (info.Length > 0 && info[0] is not "csharp" && OtherCSharpNames.Contains(info[0]))
            {
                throw new InvalidOperationException($"{page}({i + 1}): fence C# as ```csharp, so that the block is compiled.");
            }

            if (info.Length > 0 && info[0] == "csharp")
            {
                var code = string.Join("\n", lines[start..end].Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l.TrimStart(' ')));
                blocks.Add(new CodeBlock(page, start + 1, code, info.Skip(1).Contains(FragmentMarker)));
            }

            i = end;
        }

        return blocks;
    }

    /// <summary>
    /// Compiles <paramref name="blocks"/> (the non-fragment blocks of one page) together with the generator and returns
    /// the compilation with the generated code added, plus every error and warning of the generator and the compiler,
    /// each as <c>page(line,column): id: message (in the block at page(line))</c>.
    /// </summary>
    public static (Compilation Output, IReadOnlyList<string> Problems) Compile(IReadOnlyList<CodeBlock> blocks, string assemblyName)
    {
        // Each block is its own file, and a #line directive maps it onto its lines of the page, so every diagnostic
        // names the page and the line a reader sees.
        var trees = blocks.Where(b => !b.IsFragment)
            .Select(b => CSharpSyntaxTree.ParseText(
                $"#line {b.Line.ToString(CultureInfo.InvariantCulture)} \"{b.Page}\"\n{b.Code}\n",
                GeneratorHarness.ParseOptions, path: b.Where))
            .Append(CSharpSyntaxTree.ParseText(ImplicitUsings, GeneratorHarness.ParseOptions, path: "ImplicitUsings.g.cs"));
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
            // As the SDK does: assembly-version unification between the test process's references is not the example's problem.
            .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]);
        var compilation = CSharpCompilation.Create(assemblyName, trees, References.Value, options);
        var run = GeneratorHarness.Run(GeneratorHarness.NewDriver(), compilation);
        var problems = run.Diagnostics.Concat(run.OutputProblems)
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Distinct()
            .OrderBy(d => d.Location.GetMappedLineSpan().Path, StringComparer.Ordinal)
            .ThenBy(d => d.Location.GetMappedLineSpan().StartLinePosition)
            .Select(d => Describe(d, blocks))
            .ToList();
        problems.AddRange(run.Result.Results.Where(r => r.Exception is not null).Select(r => $"the generator threw: {r.Exception}"));
        return (run.Output, problems);
    }

    private static string Describe(Diagnostic diagnostic, IReadOnlyList<CodeBlock> blocks)
    {
        var where = diagnostic.Location.GetMappedLineSpan();
        var block = blocks.LastOrDefault(b => b.Page == where.Path && b.Line <= where.StartLinePosition.Line + 1);
        var place = where.IsValid
            ? $"{where.Path}({where.StartLinePosition.Line + 1},{where.StartLinePosition.Character + 1})"
            : "(no location)";
        return $"{place}: {diagnostic.Severity.ToString().ToLowerInvariant()} {diagnostic.Id}: "
            + diagnostic.GetMessage(CultureInfo.InvariantCulture)
            + (block is null ? "" : $" (in the block at {block.Where})");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CircuitDsl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No CircuitDsl.sln above {AppContext.BaseDirectory}: the documentation tests read the repository's Markdown.");
    }
}
