using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Cli;

/// <summary>
/// <c>circuitdsl extract</c> and <c>rotate</c>, with PyTorch reading the folders they write: Fixtures/Surgery/make_fixtures.py
/// ran these commands, loaded each folder with its own reader and forward pass, and recorded the losses and logits.
/// </summary>
public sealed class SurgeryCommandTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private static readonly string TokensPath = Path.Combine(Fixtures, "Surgery", "tokens.json");
    private static readonly int[][] Tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(TokensPath))!;
    private readonly string _dir = Directory.CreateTempSubdirectory("surgery-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Expected().EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PyTorch_reads_the_written_folder_and_finds_what_the_runtime_says(string name)
    {
        var c = Expected().EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var args = c.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToArray();
        var source = Source(c.GetProperty("source").GetString()!);
        var written = Path.Combine(_dir, name);

        var (code, stdout, stderr) = CliRunner.Run([args[0], source, .. args[1..], "--tokens", TokensPath, "--out", written, "--json"]);

        code.Should().Be(0, stderr);
        ShouldMatchTheFolderPyTorchRead(written, Path.Combine(Fixtures, "Surgery", "out", name));
        var report = JsonDocument.Parse(stdout).RootElement;
        using var original = ModelFolder.Load(source);
        var model = new HookedTransformer(original.Weights);
        if (args[0] == "extract")
        {
            var torchLoss = c.GetProperty("loss").GetDouble();
            var meanAblated = MeanAblatedLoss(model, Option(args, "--heads")!, Option(args, "--mlps"));
            torchLoss.Should().BeApproximately(meanAblated, 1e-4 * Math.Max(1, torchLoss), "PyTorch's loss of the extracted folder is the mean-ablated model's");
            report.GetProperty("loss_extracted").GetDouble().Should().BeApproximately(torchLoss, 1e-4 * Math.Max(1, torchLoss));
            return;
        }

        var rotated = Flatten(c.GetProperty("logits"));
        var torchOriginal = Flatten(c.GetProperty("original_logits"));
        var ours = model.Forward(Tokens).Span.ToArray().Select(x => (double)x).ToArray();
        MaxDifference(torchOriginal, ours).Should().BeLessThan(1e-4 * MaxAbs(ours), "PyTorch and the runtime agree on the source model");
        var relative = MaxDifference(rotated, torchOriginal) / MaxAbs(torchOriginal);
        report.GetProperty("relative_logit_difference").GetDouble().Should().BeApproximately(relative, 1e-4);
        if (args.Contains("--neurons"))
        {
            relative.Should().BeGreaterThan(0.05, "rotating the neurons changes the model");
        }
        else
        {
            relative.Should().BeLessThan(1e-4, "rotating the residual stream or the head bases leaves the logits unchanged");
        }
    }

    public static TheoryData<string[], string> BadInput => new()
    {
        { ["extract", "{model}", "--heads", "0.1,3.0", "--tokens", "{tokens}", "--out", "{out}"], "Head 3.0 is outside the model" },
        { ["extract", "{model}", "--heads", "0.1,0.1", "--tokens", "{tokens}", "--out", "{out}"], "head 0.1 is listed twice" },
        { ["extract", "{model}", "--heads", "0.x", "--tokens", "{tokens}", "--out", "{out}"], "--heads: " },
        { ["extract", "{model}", "--heads", "0.1", "--mlps", "0,0", "--tokens", "{tokens}", "--out", "{out}"], "MLP 0 is listed twice" },
        { ["extract", "{model}", "--heads", "0.1", "--mlps", "7", "--tokens", "{tokens}", "--out", "{out}"], "MLP 7 is outside the model" },
        { ["extract", "{model}", "--heads", "0.1", "--tokens", "{tokens}", "--out", "{model}"], "is the model folder being read" },
        { ["extract", "{model}", "--heads", "0.1", "--tokens", "{missing}", "--out", "{out}"], "tokens file not found" },
        { ["extract", "{model}", "--heads", "0.1", "--out", "{out}"], "--tokens" },
        { ["rotate", "{model}", "--seed", "1", "--out", "{model}/"], "is the model folder being read" },
        { ["rotate", "{shortformer}", "--seed", "1", "--neurons", "--out", "{out}"], "attention-only" },
        { ["rotate", "{model}", "--seed", "1", "--tokens", "{missing}", "--out", "{out}"], "tokens file not found" },
        { ["rotate", "{model}", "--out", "{out}"], "--seed" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_input_is_one_line_and_exit_code_2_and_writes_nothing(string[] template, string reason)
    {
        var output = Path.Combine(_dir, "out");
        var args = template.Select(a => a.Replace("{model}", Source("ln_mlp_3l"), StringComparison.Ordinal)
            .Replace("{shortformer}", Source("lnpre_shortformer_3l"), StringComparison.Ordinal)
            .Replace("{tokens}", TokensPath, StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(_dir, "missing.json"), StringComparison.Ordinal)
            .Replace("{out}", output, StringComparison.Ordinal)).ToArray();
        var before = Contents(Source("ln_mlp_3l"));

        var (code, stdout, stderr) = CliRunner.Run(args);

        code.Should().Be(2);
        stdout.Should().BeEmpty();
        stderr.TrimEnd().Should().NotContain("\n").And.Contain(reason).And.NotContain("   at ");
        Directory.Exists(output).Should().BeFalse();
        Contents(Source("ln_mlp_3l")).Should().Equal(before, "the model folder being read is left as it was, file for file");
    }

    [Fact]
    public void Help_lists_the_flags()
    {
        CliRunner.Run("extract", "--help").Stdout.Should().Contain("--heads").And.Contain("--mlps").And.Contain("--tokens").And.Contain("--out");
        CliRunner.Run("rotate", "--help").Stdout.Should().Contain("--seed").And.Contain("--head-basis").And.Contain("--neurons");
    }

    [Fact]
    public void The_text_reports_give_the_faithfulness_and_how_far_the_logits_moved()
    {
        var extract = CliRunner.Run("extract", Source("ln_mlp_3l"), "--heads", "0.1,2.0", "--tokens", TokensPath, "--out", Path.Combine(_dir, "x"));
        var rotate = CliRunner.Run("rotate", Source("ln_mlp_3l"), "--seed", "3", "--neurons", "--out", Path.Combine(_dir, "r"));

        extract.Code.Should().Be(0);
        extract.Stdout.Should().Contain("faithfulness (fraction of loss recovered)").And.Contain("extracted");
        rotate.Code.Should().Be(0);
        rotate.Stdout.Should().Contain("rotated neurons; logits moved by at most");
    }

    private static JsonElement Expected() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "Surgery", "expected.json"))).RootElement.GetProperty("cases");

    private static string Source(string name) =>
        name == "none_mlp_2l" ? Path.Combine(Fixtures, "Surgery", name) : Path.Combine(Fixtures, "Paths", name);

    /// <summary>Each file of a folder, by name, with a hash of its bytes.</summary>
    private static Dictionary<string, string> Contents(string folder) =>
        Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    private static string? Option(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 ? args[i + 1] : null;

    /// <summary>The source model's loss with every head outside <paramref name="heads"/> (and MLP outside <paramref name="mlps"/>) mean-ablated.</summary>
    private static double MeanAblatedLoss(HookedTransformer model, string heads, string? mlps)
    {
        var c = model.Config;
        var kept = heads.Split(',').Select(HeadId.Parse).ToHashSet();
        var hooks = Ablation.Hooks(c, Ablation.AllHeads(c).Where(h => !kept.Contains(h)), AblationKind.Mean, Ablation.MeanZ(model, Tokens));
        if (mlps is not null)
        {
            var keptMlps = mlps == "none" ? [] : mlps.Split(',').Select(int.Parse).ToHashSet();
            Ablation.MlpHooks(c, Enumerable.Range(0, c.NLayers).Where(l => !keptMlps.Contains(l)), Ablation.MeanMlpOut(model, Tokens), hooks);
        }

        return Ablation.Loss(model, Tokens, hooks);
    }

    /// <summary>The folder written now holds what PyTorch read (to float rounding: the runtime's kernels may differ by machine).</summary>
    private static void ShouldMatchTheFolderPyTorchRead(string written, string committed)
    {
        using var now = ModelFolder.Load(written);
        using var then = ModelFolder.Load(committed);
        now.Config.Should().Be(then.Config);
        foreach (var (a, b) in now.Weights.ToStateDict().Zip(then.Weights.ToStateDict()))
        {
            a.Key.Should().Be(b.Key);
            a.Value.Span.ToArray().Should().Equal(b.Value.Span.ToArray(), (x, y) => Math.Abs(x - y) <= 1e-5 * Math.Max(1, Math.Abs(y)), a.Key);
        }
    }

    private static double[] Flatten(JsonElement logits) =>
        [.. logits.EnumerateArray().SelectMany(s => s.EnumerateArray()).SelectMany(p => p.EnumerateArray()).Select(x => x.GetDouble())];

    private static double MaxDifference(double[] a, double[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    private static double MaxAbs(double[] a) => a.Max(Math.Abs);
}
