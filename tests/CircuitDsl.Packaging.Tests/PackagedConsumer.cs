using System.Xml.Linq;
using CircuitDsl.Model;
using CircuitDsl.Weights;

namespace CircuitDsl.Packaging.Tests;

/// <summary>
/// Does, once, what a user does with the packages, in a temp folder outside the repository (so no Directory.Build.props,
/// Directory.Packages.props or project reference of ours can help): <c>dotnet pack</c> the packable projects into a local
/// folder feed; write a consumer test project that references only the packed <c>CircuitDsl</c> and a test framework, with
/// its own NuGet.config (that feed plus the sources this repository restores from) and its own packages folder (so a
/// stale CircuitDsl in <c>~/.nuget/packages</c> cannot stand in); give it a model folder; <c>dotnet test</c> it; build it
/// again with a broken spec added; and install the <c>circuitdsl</c> tool from the feed and inspect the model with it.
/// Each step's result is kept for the tests to assert on; a step whose prerequisite failed is not run (null).
/// </summary>
public sealed class PackagedConsumer : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(20);

    public PackagedConsumer()
    {
        RepositoryRoot = FindRepositoryRoot();
        Root = Directory.CreateTempSubdirectory("circuitdsl-packaging-").FullName;
        Feed = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
        Packages = Path.Combine(Root, "packages");
        ConsumerDirectory = Directory.CreateDirectory(Path.Combine(Root, "consumer")).FullName;
        ModelDirectory = Path.Combine(ConsumerDirectory, "model");
        ToolDirectory = Path.Combine(Root, "tools");
        Version = ReadVersionPrefix(RepositoryRoot);

        // Every project under src/ is a package except Abstractions, which travels inside CircuitDsl. CI=true as on the
        // CI machine: what ships is built with ContinuousIntegrationBuild (see Directory.Build.props).
        PackageIds = Directory.GetDirectories(Path.Combine(RepositoryRoot, "src"))
            .Where(dir => Directory.EnumerateFiles(dir, "*.csproj").Any())
            .Select(dir => Path.GetFileName(dir)!)
            .Where(name => name != "CircuitDsl.Abstractions")
            .Order(StringComparer.Ordinal)
            .ToList();
        var ci = new Dictionary<string, string> { ["CI"] = "true" };
        Packs = PackageIds.ToDictionary(id => id, id => DotNet.Run(RepositoryRoot, StepTimeout, ci,
            "dotnet", "pack", $"src/{id}", "-c", "Release", "-o", Feed, "--nologo"));
        if (Packs.Values.Any(p => p.ExitCode != 0))
        {
            return;
        }

        WriteConsumer();
        var isolated = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Packages };
        ConsumerTest = DotNet.Run(ConsumerDirectory, StepTimeout, isolated, "dotnet", "test", "--nologo",
            "--logger", "trx;LogFileName=consumer.trx", "--results-directory", Path.Combine(Root, "results"));
        ConsumerTrx = Path.Combine(Root, "results", "consumer.trx");

        File.Copy(Path.Combine(AppContext.BaseDirectory, "Consumer", "Broken.cs.txt"), Path.Combine(ConsumerDirectory, "Broken.cs"));
        BrokenBuild = DotNet.Run(ConsumerDirectory, StepTimeout, isolated, "dotnet", "build", "--nologo", "--no-restore");
        File.Delete(Path.Combine(ConsumerDirectory, "Broken.cs"));

        // Not from the consumer folder: `--add-source` refuses to work with package source mapping. From a folder whose
        // NuGet.config clears every source, so that the feed added on the command line is the only one.
        var installer = Directory.CreateDirectory(Path.Combine(Root, "install")).FullName;
        File.WriteAllText(Path.Combine(installer, "NuGet.config"),
            "<configuration><packageSources><clear /></packageSources></configuration>");
        ToolInstall = DotNet.Run(installer, StepTimeout, isolated, "dotnet", "tool", "install",
            "--tool-path", ToolDirectory, "--add-source", Feed, "CircuitDsl.Cli", "--version", Version);
        if (ToolInstall.ExitCode == 0)
        {
            var circuitdsl = Path.Combine(ToolDirectory, OperatingSystem.IsWindows() ? "circuitdsl.exe" : "circuitdsl");
            ToolVersion = DotNet.Run(ConsumerDirectory, StepTimeout, null, circuitdsl, "--version");
            ToolInspect = DotNet.Run(ConsumerDirectory, StepTimeout, null, circuitdsl, "inspect", ModelDirectory, "--json");
        }
    }

    public string RepositoryRoot { get; }

    public string Root { get; }

    public string Feed { get; }

    public string Packages { get; }

    public string ConsumerDirectory { get; }

    public string ModelDirectory { get; }

    public string ToolDirectory { get; }

    /// <summary>The one version of every package (Directory.Build.props' VersionPrefix).</summary>
    public string Version { get; }

    /// <summary>The packages this repository makes: one per project under src/ but CircuitDsl.Abstractions.</summary>
    public IReadOnlyList<string> PackageIds { get; }

    /// <summary><c>dotnet pack</c> of each package's project, by package id.</summary>
    public IReadOnlyDictionary<string, ProcessResult> Packs { get; }

    public ProcessResult? ConsumerTest { get; }

    public string? ConsumerTrx { get; }

    public ProcessResult? BrokenBuild { get; }

    public ProcessResult? ToolInstall { get; }

    public ProcessResult? ToolVersion { get; }

    public ProcessResult? ToolInspect { get; }

    public IEnumerable<ProcessResult?> Steps =>
        [.. Packs.Values, ConsumerTest, BrokenBuild, ToolInstall, ToolVersion, ToolInspect];

    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The version Directory.Packages.props pins for <paramref name="id"/>, so the consumer tests with what we test with.</summary>
    public string PinnedVersion(string id) =>
        XDocument.Load(Path.Combine(RepositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == id).Attribute("Version")!.Value;

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("CIRCUITDSL_KEEP_PACKAGING") != "1")
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private void WriteConsumer()
    {
        var template = Path.Combine(AppContext.BaseDirectory, "Consumer");
        var project = File.ReadAllText(Path.Combine(template, "Consumer.Tests.csproj")).Replace("@CircuitDsl@", Version);
        foreach (var id in new[] { "Microsoft.NET.Test.Sdk", "xunit", "xunit.runner.visualstudio", "FluentAssertions" })
        {
            project = project.Replace($"@{id}@", PinnedVersion(id));
        }

        File.WriteAllText(Path.Combine(ConsumerDirectory, "Consumer.Tests.csproj"), project);
        File.Copy(Path.Combine(template, "Specs.cs"), Path.Combine(ConsumerDirectory, "Specs.cs"));
        File.Copy(Path.Combine(template, "CircuitTests.cs"), Path.Combine(ConsumerDirectory, "CircuitTests.cs"));
        File.WriteAllText(Path.Combine(ConsumerDirectory, "NuGet.config"), NuGetConfig());

        // Stop MSBuild's upward search for Directory.Build.* and Directory.Packages.props at the consumer, and restore
        // into a packages folder of its own.
        File.WriteAllText(Path.Combine(ConsumerDirectory, "Directory.Build.props"), $"""
            <Project>
              <PropertyGroup>
                <RestorePackagesPath>{Packages}</RestorePackagesPath>
                <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(ConsumerDirectory, "Directory.Build.targets"), "<Project />");

        ModelFolder.Save(ModelDirectory, PreviousTokenModel());
    }

    /// <summary>
    /// The local feed first, then every source this repository's own restore uses (as <c>dotnet nuget list source</c>
    /// reports them), with package source mapping sending CircuitDsl and CircuitDsl.* to the local feed only.
    /// </summary>
    private string NuGetConfig()
    {
        var list = DotNet.Run(RepositoryRoot, StepTimeout, null, "dotnet", "nuget", "list", "source", "--format", "short");
        var sources = list.Output.Split('\n', StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
            .Select(line => line[2..].Trim())
            .ToList();
        if (list.ExitCode != 0 || sources.Count == 0)
        {
            throw new InvalidOperationException($"No enabled package source to restore the test framework from: {list}");
        }

        var named = sources.Select((url, i) => (Key: $"source{i}", Url: url)).ToList();
        var config = new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "circuitdsl-local"), new XAttribute("value", Feed)),
                named.Select(s => new XElement("add", new XAttribute("key", s.Key), new XAttribute("value", s.Url)))),
            new XElement("packageSourceMapping",
                new XElement("packageSource", new XAttribute("key", "circuitdsl-local"),
                    new XElement("package", new XAttribute("pattern", "CircuitDsl")),
                    new XElement("package", new XAttribute("pattern", "CircuitDsl.*"))),
                named.Select(s => new XElement("packageSource", new XAttribute("key", s.Key),
                    new XElement("package", new XAttribute("pattern", "*"))))));
        return new XDocument(config).ToString();
    }

    /// <summary>
    /// Hand-built weights for the consumer's <c>Toy1L</c> (1 layer, 2 heads, d_model 16 = 8 token + 8 position dimensions,
    /// d_head 8, no LayerNorm) whose head 0.0 is a previous-token head by construction: position <c>p</c> queries with
    /// <c>c·u_p</c> and position <c>j</c> keys with <c>u_{j+1}</c>, so the only nonzero score, <c>c / √d_head ≈ 14</c>, is
    /// on <c>j = p − 1</c> and its attention is 1 to within 1e-5. Head 0.1 is all zeros and attends evenly.
    /// The OV circuits copy the token (identity through the token dimensions) so that every inspect score is defined.
    /// </summary>
    private static TransformerWeights PreviousTokenModel()
    {
        const int vocab = 8, context = 8, dModel = 16, dHead = 8;
        const float c = 40f;
        var weights = TransformerWeights.Zeros(new ModelConfig
        {
            NLayers = 1, NHeads = 2, DModel = dModel, DHead = dHead, DVocab = vocab, NCtx = context,
            DMlp = null, AttnOnly = true, ActFn = null, NormalizationType = Normalization.None, PositionalEmbeddingType = PositionalEmbedding.Standard,
        });
        for (var t = 0; t < vocab; t++)
        {
            weights.W_E.Span[(t * dModel) + t] = 1f;
            weights.W_U.Span[(t * vocab) + t] = 1f;
        }

        for (var p = 0; p < context; p++)
        {
            weights.W_pos.Span[(p * dModel) + vocab + p] = 1f;
        }

        var block = weights.Blocks[0];
        for (var p = 0; p < context; p++)
        {
            block.W_Q.Span[((vocab + p) * dHead) + p] = c;
            if (p + 1 < dHead)
            {
                block.W_K.Span[((vocab + p) * dHead) + p + 1] = 1f;
            }
        }

        for (var h = 0; h < 2; h++)
        {
            for (var i = 0; i < vocab; i++)
            {
                block.W_V.Span[(((h * dModel) + i) * dHead) + i] = 1f;
                block.W_O.Span[(((h * dHead) + i) * dModel) + i] = 1f;
            }
        }

        return weights;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CircuitDsl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No CircuitDsl.sln above {AppContext.BaseDirectory}.");
    }

    private static string ReadVersionPrefix(string root) =>
        XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("VersionPrefix").Single().Value;
}
