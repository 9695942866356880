using System.Collections.Immutable;
using System.Diagnostics;
using CircuitDsl.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CircuitDsl.Benchmarks;

/// <summary>
/// The source generator on <see cref="SpecProject"/> (50 specs), driven the way the compiler drives it
/// (<see cref="CSharpGeneratorDriver"/>, no step tracking): a cold run, the same with the project's declarations
/// already bound, an edit of one threshold, an edit of a file with no spec, and compiling what the generator made.
/// Before timing it checks, with step tracking on, that the project is clean and that each edit re-ran only what it
/// should; it prints what the tracked steps said as INFO lines. No PyTorch counterpart: TransformerLens has no
/// compile-time step.
/// </summary>
internal static class GeneratorBenchmark
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Parse);

    private static readonly CSharpCompilationOptions CompilationOptions =
        new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    private static readonly string[] Steps =
    [
        TrackingNames.TransformerResults, TrackingNames.TransformerSpecs, TrackingNames.CircuitResults,
        TrackingNames.CircuitSpecs, TrackingNames.Registry, TrackingNames.Diagnostics,
    ];

    public static void Run(int reps)
    {
        var files = SpecProject.Files();
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, f.Path)).ToImmutableArray();
        var references = References();
        CSharpCompilation Fresh() => CSharpCompilation.Create("Lab.Specs", trees, references, CompilationOptions);

        var specTree = trees[SpecProject.EditedSpec];
        var editedSpec = CSharpSyntaxTree.ParseText(SpecProject.Spec(SpecProject.EditedSpec, edited: true), ParseOptions, specTree.FilePath);
        var unrelatedTree = trees[^1];
        var editedUnrelated = CSharpSyntaxTree.ParseText(SpecProject.Unrelated(edited: true), ParseOptions, unrelatedTree.FilePath);

        Verify(Fresh(), (specTree, editedSpec), (unrelatedTree, editedUnrelated));

        // Cold: a fresh compilation (nothing bound yet) and a fresh driver, as a command-line build starts.
        // The driver's timing info says how much of that the generator's own pipeline took (the rest: the driver's
        // setup and parsing the generated files into the new compilation).
        const int coldWarmup = 3;
        var inGenerator = new List<double>();
        Harness.Report("generator-cold", Sample(reps, coldWarmup, Fresh, compilation =>
            inGenerator.Add(NewDriver(track: false).RunGeneratorsAndUpdateCompilation(compilation, out _, out _)
                .GetTimingInfo().GeneratorTimes.Single().ElapsedTime.TotalSeconds)), 0);
        Harness.Report("generator-cold-in-generator", [.. inGenerator.Skip(coldWarmup)], 0);

        // The same once every declaration is bound (the binding the generator's transforms otherwise make the
        // compilation do, as the first to ask): what remains is the generator's own work.
        Harness.Report("generator-cold-bound", Sample(reps, warmup: 1, () =>
        {
            var compilation = Fresh();
            _ = compilation.GetDeclarationDiagnostics();
            return compilation;
        }, compilation => NewDriver(track: false).RunGeneratorsAndUpdateCompilation(compilation, out _, out _)), 0);

        // Compiling what the cold run made (binding and emitting the specs and the 100 generated files), as the
        // compiler does next: the build the generator is a part of.
        Harness.Report("generator-compile", Sample(reps, warmup: 1, () =>
        {
            NewDriver(track: false).RunGeneratorsAndUpdateCompilation(Fresh(), out var output, out _);
            return output;
        }, output =>
        {
            using var pe = new MemoryStream();
            var emitted = output.Emit(pe);
            Check(emitted.Success, "the 50-spec project with the generated code does not compile");
        }), 0);

        // Incremental: the driver that already ran on the project re-runs on the project with one file replaced (a
        // new compilation each sample, as each keystroke in an IDE gives one).
        var before = Fresh();
        var ran = NewDriver(track: false).RunGeneratorsAndUpdateCompilation(before, out _, out _);
        foreach (var (name, (oldTree, newTree)) in new[] { ("generator-edit", (specTree, editedSpec)), ("generator-unrelated-edit", (unrelatedTree, editedUnrelated)) })
        {
            Harness.Report(name, Sample(reps, warmup: 1, () => before.ReplaceSyntaxTree(oldTree, newTree),
                compilation => ran.RunGeneratorsAndUpdateCompilation(compilation, out _, out _)), 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a fresh input from <paramref name="setup"/> (made outside the timing) after
    /// <paramref name="warmup"/> untimed runs; the seconds of each timed run.
    /// </summary>
    private static double[] Sample<T>(int reps, int warmup, Func<T> setup, Action<T> body)
    {
        var times = new double[reps];
        for (var i = -warmup; i < reps; i++)
        {
            var input = setup();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            body(input);
            if (i >= 0)
            {
                times[i] = clock.Elapsed.TotalSeconds;
            }
        }

        return times;
    }

    /// <summary>
    /// With step tracking on: the project gives no diagnostic and compiles without warnings; editing one threshold
    /// modifies exactly that circuit's spec and regenerates exactly its file; editing a file with no spec modifies no
    /// step's output and regenerates nothing. Throws otherwise; prints the step reasons.
    /// </summary>
    private static void Verify(CSharpCompilation project, (SyntaxTree Old, SyntaxTree New) specEdit, (SyntaxTree Old, SyntaxTree New) unrelatedEdit)
    {
        var first = NewDriver(track: true).RunGeneratorsAndUpdateCompilation(project, out var output, out var diagnostics);
        Check(diagnostics.IsEmpty, $"the generator reported {string.Join("; ", diagnostics)}");
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Check(problems.Count == 0, $"the generated project has {problems.Count} errors or warnings, first {problems.FirstOrDefault()}");
        var sources = Sources(first);
        // A model and a circuit file per spec, and the assembly's registry.
        Check(sources.Count == (2 * SpecProject.Count) + 1, $"{sources.Count} generated files, not {(2 * SpecProject.Count) + 1}");
        var hypotheses = project.SyntaxTrees.Sum(t => t.ToString().Split("public static partial Evidence").Length - 1);
        Console.WriteLine($"INFO\tgenerator\t{SpecProject.Count} specs ({hypotheses} hypotheses) and 1 other file; " +
            $"{sources.Count} generated files, {sources.Values.Sum(s => s.Length) / 1024} KiB");

        var edited = first.RunGenerators(project.ReplaceSyntaxTree(specEdit.Old, specEdit.New));
        var changed = Changed(sources, Sources(edited));
        Check(changed.SequenceEqual([SpecProject.CircuitHintName(SpecProject.EditedSpec)]), $"the threshold edit regenerated {string.Join(", ", changed)}");
        Check(Count(edited, TrackingNames.CircuitSpecs, IncrementalStepRunReason.Modified) == 1
            && Count(edited, TrackingNames.TransformerSpecs, IncrementalStepRunReason.Modified) == 0
            && Steps.All(s => Count(edited, s, IncrementalStepRunReason.New) + Count(edited, s, IncrementalStepRunReason.Removed) == 0),
            $"the threshold edit re-ran more than its circuit: {Reasons(edited)}");
        Console.WriteLine($"INFO\tgenerator-edit\tregenerated {string.Join(", ", changed)}; steps: {Reasons(edited)}");

        var unrelated = first.RunGenerators(project.ReplaceSyntaxTree(unrelatedEdit.Old, unrelatedEdit.New));
        Check(Steps.All(s => Count(unrelated, s, IncrementalStepRunReason.Modified) + Count(unrelated, s, IncrementalStepRunReason.New) == 0)
            && Changed(sources, Sources(unrelated)).Count == 0, $"the edit outside the specs re-ran a step: {Reasons(unrelated)}");
        Console.WriteLine($"INFO\tgenerator-unrelated-edit\tregenerated nothing; steps: {Reasons(unrelated)}");
    }

    private static GeneratorDriver NewDriver(bool track) =>
        CSharpGeneratorDriver.Create(
            [new CircuitDslGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    /// <summary>
    /// What a project built by the SDK references: the targeting pack's reference assemblies for this runtime, and
    /// CircuitDsl with its Abstractions.
    /// </summary>
    private static ImmutableArray<MetadataReference> References()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var root = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        var pack = Path.Combine(root, "packs", "Microsoft.NETCore.App.Ref", new DirectoryInfo(runtime).Name, "ref", $"net{Environment.Version.ToString(2)}");
        Check(Directory.Exists(pack), $"no targeting pack at {pack}");
        return
        [
            .. Directory.GetFiles(pack, "*.dll").Select(p => MetadataReference.CreateFromFile(p)),
            MetadataReference.CreateFromFile(typeof(HeadId).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(Tensors.Tensor).Assembly.Location),
        ];
    }

    private static Dictionary<string, string> Sources(GeneratorDriver driver) =>
        driver.GetRunResult().Results.Single().GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>The hint names whose text differs between two runs, or that only one run generated.</summary>
    private static List<string> Changed(Dictionary<string, string> before, Dictionary<string, string> after) =>
        [.. before.Keys.Union(after.Keys).Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b).Order(StringComparer.Ordinal)];

    private static int Count(GeneratorDriver driver, string step, IncrementalStepRunReason reason) =>
        driver.GetRunResult().Results.Single().TrackedSteps.TryGetValue(step, out var runs)
            ? runs.SelectMany(r => r.Outputs).Count(o => o.Reason == reason)
            : 0;

    /// <summary>Each tracked step's outputs counted by reason, e.g. <c>CircuitSpecs 1 Modified, 49 Cached</c>.</summary>
    private static string Reasons(GeneratorDriver driver)
    {
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;
        return string.Join("; ", Steps.Where(steps.ContainsKey).Select(step => step + " " + string.Join(", ",
            steps[step].SelectMany(r => r.Outputs).GroupBy(o => o.Reason).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))));
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException("generator benchmark: " + message);
        }
    }
}
