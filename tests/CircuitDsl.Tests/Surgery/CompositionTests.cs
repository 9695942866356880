using System.Text.Json;
using CircuitDsl.Model;
using CircuitDsl.Surgery;
using CircuitDsl.Tasks;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Surgery;

/// <summary>
/// <see cref="Composition"/> and <c>circuitdsl compose</c> against independent numbers: the direct-sum identity (the
/// composite's logits are the sum of its parts'), PyTorch's reading of the composite folder
/// (Fixtures/Composition/make_fixtures.py: three random parts, one with an MLP, a smaller d_head and a longer context,
/// one with no layers), the optimality of the fitted mixing weights, and the bundled composite against its parents on
/// held-out Markov text with repeated segments.
/// </summary>
public sealed class CompositionTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Composition");
    private static readonly string[] PartNames = ["part_a", "part_b", "part_c"];
    private static readonly string Bundled = Path.Combine(AppContext.BaseDirectory, "weights");

    [Fact]
    public void The_direct_sums_logits_are_the_sum_of_its_parts_logits()
    {
        var folders = PartNames.Select(n => ModelFolder.Load(Path.Combine(Fixtures, n))).ToList();
        try
        {
            var tokens = Tokens();
            var composite = Composition.Compose(folders.Select(f => f.Weights).ToList(), CompositionAlignment.None);
            var logits = new HookedTransformer(composite).Forward(tokens).Span.ToArray();
            var sum = new double[logits.Length];
            foreach (var f in folders)
            {
                var part = new HookedTransformer(f.Weights).Forward(tokens).Span;
                for (var i = 0; i < sum.Length; i++)
                {
                    sum[i] += part[i];
                }
            }

            composite.Config.Should().Match<ModelConfig>(c => c.NLayers == 2 && c.NHeads == 5 && c.DModel == 19 && c.DHead == 4 && c.NCtx == 8 && c.DMlp == 12);
            MaxGap(logits, sum).Should().BeLessThan(1e-4, "the parts share no residual dimension, so their logits add");
            MaxGap(logits, Expected("parts.json", doc => SumOfParts(doc))).Should().BeLessThan(1e-4, "PyTorch's parts' logits add up to ours");
        }
        finally
        {
            folders.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public void PyTorch_reads_the_composite_folder_compose_writes_and_computes_our_logits_and_loss()
    {
        var outDir = TempDir();
        try
        {
            var (code, _, stderr) = CliRunner.Run(["compose", .. PartNames.SelectMany(n => new[] { "--part", Path.Combine(Fixtures, n) }), "--out", outDir]);
            code.Should().Be(0, stderr);

            // The committed composite, which PyTorch read, is exactly what compose writes.
            using var written = ModelFolder.Load(outDir);
            using var committed = ModelFolder.Load(Path.Combine(Fixtures, "composite"));
            written.Config.Should().Be(committed.Config);
            foreach (var ((name, a), (_, b)) in written.Weights.ToStateDict().Zip(committed.Weights.ToStateDict()))
            {
                a.Span.SequenceEqual(b.Span).Should().BeTrue($"tensor {name} is as committed");
            }

            var tokens = Tokens();
            var model = new HookedTransformer(written.Weights);
            MaxGap(model.Forward(tokens).Span.ToArray(), Expected("composite.json", doc => Flatten(doc.GetProperty("logits"))))
                .Should().BeLessThan(1e-4);
            var loss = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "composite.json"))).RootElement.GetProperty("loss").GetDouble();
            Losses.NextTokenCrossEntropy(model, tokens).Should().BeApproximately(loss, 1e-4 * Math.Max(1, loss));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void The_fitted_mixing_weights_minimise_the_loss_over_their_neighbours()
    {
        var folders = PartNames.Select(n => ModelFolder.Load(Path.Combine(Fixtures, n))).ToList();
        try
        {
            var parts = folders.Select(f => f.Weights).ToList();
            var tokens = Tokens();
            var fit = MixingWeights.Fit(parts, CompositionAlignment.None, tokens);
            double LossAt(IReadOnlyList<double> alpha) =>
                Losses.NextTokenCrossEntropy(new HookedTransformer(Composition.Compose(parts, CompositionAlignment.None, alpha)), tokens);

            LossAt(fit.Alpha).Should().BeApproximately(fit.FittedLoss, 1e-4);
            LossAt([1, 1, 1]).Should().BeApproximately(fit.UnitLoss, 1e-4);
            fit.FittedLoss.Should().BeLessThan(fit.UnitLoss);
            for (var p = 0; p < parts.Count; p++)
            {
                foreach (var delta in new[] { -0.02, 0.02 })
                {
                    var moved = fit.Alpha.ToArray();
                    moved[p] += delta;
                    LossAt(moved).Should().BeGreaterThan(fit.FittedLoss - 1e-6, $"moving weight {p} by {delta} does not help");
                }
            }
        }
        finally
        {
            folders.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public void A_part_transplanted_into_a_stream_that_differs_from_its_own_by_a_rotation_keeps_its_logits()
    {
        using var folder = ModelFolder.Load(Path.Combine(Fixtures, "part_b"));
        var part = folder.Weights;
        var rotated = Rotated(part, seed: 7);

        // The host: a zero-layer model whose embeddings are the part's, rotated; its own unembedding is weighted 0.
        var host = TransformerWeights.Zeros(part.Config with { NLayers = 0 });
        rotated.W_E.Span.CopyTo(host.W_E.Span);
        rotated.W_pos.Span.CopyTo(host.W_pos.Span);
        var maps = StreamMap.Fit([host, part]);
        maps[1].ReaderResidual.Should().BeLessThan(1e-4, "a rotation is recovered exactly from the embeddings");
        maps[1].WriterResidual.Should().BeLessThan(1e-4);

        var tokens = Tokens();
        var composite = Composition.Compose([host, part], CompositionAlignment.Embed, [0, 1], maps);
        composite.Config.DModel.Should().Be(part.Config.DModel);
        MaxGap(new HookedTransformer(composite).Forward(tokens).Span.ToArray(),
                new HookedTransformer(part).Forward(tokens).Span.ToArray().Select(x => (double)x).ToArray())
            .Should().BeLessThan(1e-3, "the residual stream has no privileged basis: the heads work in the rotated stream");
    }

    [Fact]
    public void The_bundled_composite_beats_both_parents_on_held_out_markov_text_with_repeats()
    {
        var task = new MarkovRepeatsTask(64, chainSeed: 0);
        var rng = new Random(2);
        var held = Enumerable.Range(0, 64).Select(_ => task.Sample(rng, 64)).ToArray();
        double Loss(string name)
        {
            using var f = ModelFolder.Load(Path.Combine(Bundled, name));
            return Losses.NextTokenCrossEntropy(new HookedTransformer(f.Weights), held);
        }

        var bigram = Loss(Path.Combine("bigram-0l", "seed-0"));
        var induction = Loss("induction-2l-noln");
        var composite = Loss("bigram-plus-induction");
        composite.Should().BeLessThan(bigram - 0.03, "the composite beats the bigram parent by at least 0.03 nats");
        composite.Should().BeLessThan(induction - 1.0, "and the induction parent by at least a nat");
    }

    [Fact]
    public void The_json_report_gives_the_fitted_weights_and_the_loss_of_the_folder_written()
    {
        var temp = TempDir();
        try
        {
            var fitFile = Path.Combine(temp, "fit.json");
            File.WriteAllText(fitFile, JsonSerializer.Serialize(Tokens()));
            var outDir = Path.Combine(temp, "out");
            var (code, stdout, stderr) = CliRunner.Run("compose", "--part", Path.Combine(Fixtures, "part_a"),
                "--part", Path.Combine(Fixtures, "part_b") + ":1.2", "--fit-tokens", fitFile, "--out", outDir, "--json");
            code.Should().Be(0, stderr);
            var report = JsonDocument.Parse(stdout).RootElement;
            report.GetProperty("align").GetString().Should().Be("none");
            var parts = report.GetProperty("parts").EnumerateArray().ToList();
            parts[1].GetProperty("heads").EnumerateArray().Select(h => h.GetString()).Should().Equal("1.2");
            report.GetProperty("config").GetProperty("n_heads").GetInt32().Should().Be(3, "part_a's 2 heads and the kept head of part_b");

            // The loss it reports is the loss of the folder it wrote, measured again here.
            using var written = ModelFolder.Load(outDir);
            Losses.NextTokenCrossEntropy(new HookedTransformer(written.Weights), Tokens())
                .Should().BeApproximately(report.GetProperty("loss").GetDouble(), 1e-4);
            report.GetProperty("loss").GetDouble().Should().BeLessThanOrEqualTo(report.GetProperty("loss_unmixed").GetDouble());
            parts.Select(p => p.GetProperty("mixing").GetDouble()).Should().OnlyContain(a => double.IsFinite(a));
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [Theory]
    [InlineData("vocab")]
    [InlineData("head")]
    [InlineData("missing")]
    [InlineData("one")]
    [InlineData("embed-ln")]
    public void Bad_input_is_one_line_and_exit_code_2(string what)
    {
        var temp = TempDir();
        try
        {
            var a = Path.Combine(Fixtures, "part_a");
            string[] args = what switch
            {
                "vocab" => ["--part", a, "--part", Save(temp, "v", new ModelConfig { NLayers = 0, NHeads = 1, DModel = 4, DHead = 1, DVocab = 7, NCtx = 8, AttnOnly = true })],
                "head" => ["--part", a, "--part", Path.Combine(Fixtures, "part_b") + ":1.0,5.0"],
                "missing" => ["--part", a, "--part", Path.Combine(temp, "nowhere")],
                "one" => ["--part", a],
                _ => ["--align", "embed", "--part", Save(temp, "l1", LnConfig()), "--part", Save(temp, "l2", LnConfig())],
            };
            var (code, stdout, stderr) = CliRunner.Run(["compose", .. args, "--out", Path.Combine(temp, "out")]);
            code.Should().Be(2);
            stdout.Should().BeEmpty();
            stderr.TrimEnd().Should().StartWith("circuitdsl: ").And.NotContain("\n").And.NotContain("   at ");
            stderr.Should().Contain(what switch
            {
                "vocab" => "vocabulary",
                "head" => "5.0",
                "missing" => "nowhere",
                "one" => "at least two parts",
                _ => "LayerNorm",
            });
            Directory.Exists(Path.Combine(temp, "out")).Should().BeFalse("nothing is written for bad input");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static ModelConfig LnConfig() => new()
    {
        NLayers = 1, NHeads = 1, DModel = 4, DHead = 2, DVocab = 11, NCtx = 8, AttnOnly = true, NormalizationType = Normalization.LN,
    };

    private static string Save(string root, string name, ModelConfig config)
    {
        var dir = Path.Combine(root, name);
        ModelFolder.Save(dir, TransformerWeights.Zeros(config));
        return dir;
    }

    /// <summary>The same model with its residual stream rotated by a seeded random orthogonal matrix (Gram–Schmidt).</summary>
    private static TransformerWeights Rotated(TransformerWeights w, int seed)
    {
        var d = w.Config.DModel;
        var rng = new Random(seed);
        var q = new double[d, d];
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j < d; j++)
            {
                q[i, j] = rng.NextDouble() - 0.5;
            }

            for (var k = 0; k < i; k++)
            {
                var dot = Enumerable.Range(0, d).Sum(j => q[i, j] * q[k, j]);
                for (var j = 0; j < d; j++)
                {
                    q[i, j] -= dot * q[k, j];
                }
            }

            var norm = Math.Sqrt(Enumerable.Range(0, d).Sum(j => q[i, j] * q[i, j]));
            for (var j = 0; j < d; j++)
            {
                q[i, j] /= norm;
            }
        }

        var rotation = new Tensor(d, d);
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j < d; j++)
            {
                rotation[i, j] = (float)q[i, j];
            }
        }

        Tensor Right(Tensor m) => Gemm.MatMul(m.Reshape(m.Length / d, d), rotation).Reshape([.. m.Shape]);
        Tensor Left(Tensor m) => Gemm.MatMul(rotation, m.Reshape(d, m.Length / d), transA: true).Reshape([.. m.Shape]);
        var sd = w.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal);
        foreach (var name in sd.Keys.ToList())
        {
            var t = sd[name];
            if (name is "embed.W_E" or "pos_embed.W_pos" || name.EndsWith("attn.b_O", StringComparison.Ordinal))
            {
                sd[name] = Right(t);
            }
            else if (name.EndsWith("attn.W_O", StringComparison.Ordinal))
            {
                sd[name] = Right(t);
            }
            else if (name is "unembed.W_U")
            {
                sd[name] = Left(t);
            }
            else if (name.EndsWith("attn.W_Q", StringComparison.Ordinal) || name.EndsWith("attn.W_K", StringComparison.Ordinal) || name.EndsWith("attn.W_V", StringComparison.Ordinal))
            {
                var heads = t.Dim(0);
                var result = new Tensor([.. t.Shape]);
                for (var h = 0; h < heads; h++)
                {
                    Gemm.MatMul(rotation, t[h], transA: true).Span.CopyTo(result[h].Span);
                }

                sd[name] = result;
            }
        }

        return TransformerWeights.FromStateDict(w.Config, sd, "<rotated>");
    }

    private static int[][] Tokens() =>
        JsonSerializer.Deserialize<int[][]>(JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "parts.json"))).RootElement.GetProperty("tokens").GetRawText())!;

    private static double[] Expected(string file, Func<JsonElement, double[]> read) =>
        read(JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, file))).RootElement);

    private static double[] SumOfParts(JsonElement doc)
    {
        double[]? sum = null;
        foreach (var part in doc.GetProperty("parts").EnumerateObject())
        {
            var values = Flatten(part.Value);
            sum ??= new double[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                sum[i] += values[i];
            }
        }

        return sum!;
    }

    private static double[] Flatten(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().SelectMany(Flatten).ToArray()
        : [e.GetDouble()];

    /// <summary>The largest gap, relative to the largest magnitude (at least 1).</summary>
    private static double MaxGap(float[] actual, double[] expected)
    {
        actual.Length.Should().Be(expected.Length);
        var scale = Math.Max(1, expected.Max(Math.Abs));
        return actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max() / scale;
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "circuitdsl-compose-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
