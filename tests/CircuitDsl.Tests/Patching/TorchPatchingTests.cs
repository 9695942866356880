using System.Text.Json;
using CircuitDsl.Model;
using CircuitDsl.Patching;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Patching;

/// <summary>
/// <see cref="ActivationPatching"/> against plain-PyTorch patching sweeps (TransformerLens's conventions; path patching
/// from its definition as the senders' direct writes) on a random LayerNorm + MLP model and a random attention-only model
/// without LayerNorm: Fixtures/Patching/make_fixtures.py.
/// </summary>
public sealed class TorchPatchingTests
{
    private const double Tolerance = 2e-4;

    public static TheoryData<string> Models => new() { "ln_mlp_3l", "attn_only_2l" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_sweep_agrees_with_PyTorch(string name)
    {
        using var fixture = Fixture.Load(name);
        var (patching, expected) = (fixture.Patching, fixture.Expected);
        patching.CleanMetric.Should().BeApproximately(expected.GetProperty("clean").GetDouble(), 1e-4);
        patching.CorruptedMetric.Should().BeApproximately(expected.GetProperty("corrupted").GetDouble(), 1e-4);

        ShouldMatch(patching.Sweep(PatchedActivation.ResidPre), expected.GetProperty("resid_pre"), "resid_pre");
        ShouldMatch(patching.Sweep(PatchedActivation.AttnOut), expected.GetProperty("attn_out"), "attn_out");
        ShouldMatch(patching.Sweep(PatchedActivation.HeadOutput), expected.GetProperty("head_out"), "head_out");
        ShouldMatch(patching.Sweep(PatchedActivation.HeadOutputByPosition), expected.GetProperty("head_out_by_pos"), "head_out_by_pos");
        ShouldMatch(patching.Sweep(PatchedActivation.HeadPattern), expected.GetProperty("head_pattern"), "head_pattern");
        if (expected.GetProperty("mlp_out").ValueKind == JsonValueKind.Null)
        {
            patching.Invoking(p => p.Sweep(PatchedActivation.MlpOut)).Should().Throw<ArgumentException>().WithMessage("*attention-only*");
        }
        else
        {
            ShouldMatch(patching.Sweep(PatchedActivation.MlpOut), expected.GetProperty("mlp_out"), "mlp_out");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Path_patching_agrees_with_PyTorch(string name)
    {
        using var fixture = Fixture.Load(name);
        var paths = fixture.Expected.GetProperty("paths").EnumerateArray().ToList();
        paths.Should().NotBeEmpty();
        foreach (var path in paths)
        {
            var senders = path.GetProperty("senders").EnumerateArray().Select(s => HeadId.Parse(s.GetString()!)).ToArray();
            var receivers = path.GetProperty("receivers").EnumerateArray().Select(s => HeadId.Parse(s.GetString()!)).ToArray();
            var via = Enum.Parse<CompositionKind>(path.GetProperty("via").GetString()!, ignoreCase: true);
            fixture.Patching.PathPatch(senders, receivers, via).Should().BeApproximately(
                path.GetProperty("value").GetDouble(), Tolerance, $"{string.Join(",", senders)} → {string.Join(",", receivers)} via {via}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Patching_all_of_resid_pre_at_layer_0_restores_the_clean_run_exactly_and_patching_nothing_changes_nothing(string name)
    {
        using var fixture = Fixture.Load(name);
        fixture.Patching.Patch(PatchedActivation.ResidPre, 0, position: null, head: null).Should().Be(1.0);

        // The clean and corrupted inputs differ only at positions 1 and 3: patching any other position of the
        // embeddings copies equal values, so the run is the corrupted one to the bit.
        var sweep = fixture.Patching.Sweep(PatchedActivation.ResidPre);
        foreach (var p in new[] { 0, 2, 4, 5 })
        {
            fixture.Patching.Patch(PatchedActivation.ResidPre, 0, p, head: null).Should().Be(0.0, $"position {p} is the same token in both inputs");
            sweep[0, p].Should().Be(0f, $"position {p} is the same token in both inputs");
        }

        sweep[0, 1].Should().NotBe(0f);
    }

    [Fact]
    public void Bad_inputs_are_refused_with_a_reason()
    {
        using var fixture = Fixture.Load("ln_mlp_3l");
        var model = fixture.Model;
        var shorter = fixture.Corrupted.Select(s => s[..^1]).ToArray();
        FluentActions.Invoking(() => ActivationPatching.Prepare(model, fixture.Clean, shorter, 2, 5))
            .Should().Throw<ArgumentException>().WithMessage("*same number of sequences and positions*");
        FluentActions.Invoking(() => ActivationPatching.Prepare(model, fixture.Clean, fixture.Corrupted, 2, 2))
            .Should().Throw<ArgumentException>().WithMessage("*both 2*");
        FluentActions.Invoking(() => ActivationPatching.Prepare(model, fixture.Clean, fixture.Corrupted, 2, 99))
            .Should().Throw<ArgumentException>().WithMessage("*wrong token 99*");
        FluentActions.Invoking(() => ActivationPatching.Prepare(model, fixture.Clean, fixture.Clean, 2, 5))
            .Should().Throw<ArgumentException>().WithMessage("*must differ*");
        fixture.Patching.Invoking(p => p.PathPatch([new HeadId(1, 0)], [new HeadId(1, 1)], CompositionKind.Q))
            .Should().Throw<ArgumentException>().WithMessage("*Sender 1.0*");
        fixture.Patching.Invoking(p => p.Patch(PatchedActivation.ResidPre, 3, null, null))
            .Should().Throw<ArgumentException>().WithMessage("*Layer 3*");
        fixture.Patching.Invoking(p => p.Patch(PatchedActivation.HeadOutput, 0, null, null))
            .Should().Throw<ArgumentException>().WithMessage("*needs a head*");
    }

    private static void ShouldMatch(Tensor actual, JsonElement expected, string what)
    {
        var flat = Flatten(expected).ToArray();
        actual.Length.Should().Be(flat.Length, what);
        for (var i = 0; i < flat.Length; i++)
        {
            ((double)actual.Span[i]).Should().BeApproximately(flat[i], Tolerance, $"{what}, entry {i}");
        }
    }

    private static IEnumerable<double> Flatten(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : [e.GetDouble()];

    private sealed class Fixture : IDisposable
    {
        private readonly ModelFolder _folder;

        private Fixture(ModelFolder folder, int[][] clean, int[][] corrupted, JsonElement expected)
        {
            _folder = folder;
            Clean = clean;
            Corrupted = corrupted;
            Expected = expected;
            Model = new HookedTransformer(folder.Weights);
            Patching = ActivationPatching.Prepare(Model, clean, corrupted,
                expected.GetProperty("answer").GetInt32(), expected.GetProperty("wrong").GetInt32());
        }

        public HookedTransformer Model { get; }

        public int[][] Clean { get; }

        public int[][] Corrupted { get; }

        public JsonElement Expected { get; }

        public ActivationPatching Patching { get; }

        public static Fixture Load(string name)
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Patching", name);
            int[][] Tokens(string file) => JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, file)))!;
            return new Fixture(ModelFolder.Load(dir), Tokens("clean.json"), Tokens("corrupted.json"),
                JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json"))).RootElement);
        }

        public void Dispose() => _folder.Dispose();
    }
}
