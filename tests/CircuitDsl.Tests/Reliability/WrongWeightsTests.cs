using CircuitDsl.Tasks;
using System.Text.Json.Nodes;
using CircuitDsl.Circuits;
using CircuitDsl.Reports;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Tests.Weights;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// Weights that are well formed but wrong: non-finite values, shapes or names that disagree with the config.
/// Through the command line each is exit code 2 and one line on standard error naming the file and the tensor,
/// with nothing on standard output.
/// </summary>
public sealed class WrongWeightsTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, int, float> NonFinite => new()
    {
        { "embed.W_E", 17, float.NaN },
        { "blocks.0.attn.W_Q", 63, float.PositiveInfinity },
        { "blocks.0.attn.b_O", 0, float.NegativeInfinity },
        { "unembed.b_U", 10, float.NaN },
    };

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void A_non_finite_weight_makes_every_hypothesis_not_measured_naming_the_tensor_and_index(string tensor, int index, float value)
    {
        using var folder = ModelFolder.Load(WriteFolder(d => d[tensor].Span[index] = value));
        var analysis = new ModelAnalysis(folder.Weights);

        var evidence = new[]
        {
            Hypotheses.PreviousTokenHead(analysis, "prev", "", new HeadId(0, 1), 0.5, Bound.AtLeast),
            Hypotheses.CopyingHead(analysis, "copy", "", new HeadId(0, 0), 0.5, Bound.AtLeast),
            Hypotheses.Ablation(analysis, "abl", "", new HeadId(0, 0), Hypotheses.RepeatedTokensTask, 0.1, Bound.AtLeast),
        };

        analysis.Unmeasurable.Should().Be($"tensor '{tensor}' contains {value} at flat index {index}; no score on these weights means anything.");
        evidence.Should().OnlyContain(e => e.Verdict == Verdict.NotMeasured && e.Detail == analysis.Unmeasurable);
    }

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void A_non_finite_weight_is_one_line_naming_file_tensor_and_index_from_every_command(string tensor, int index, float value)
    {
        var dir = WriteFolder(d => d[tensor].Span[index] = value);
        var tokens = Tokens("[[1, 2, 3, 4], [5, 6, 7, 8]]");
        var file = Path.Combine(dir, ModelFolder.SafetensorsFileName);

        foreach (var args in new[] { new[] { "inspect", dir }, ["inspect", dir, "--json"], ["loss", dir, "--tokens", tokens],
                     ["loss", dir, "--tokens", tokens, "--json"], ["logits", dir, "--tokens", tokens, "--json"], ["logits", dir, "--tokens", tokens] })
        {
            var line = OneLineError(args);
            line.Should().Contain(file).And.Contain($"'{tensor}'").And.Contain($"index {index}", string.Join(" ", args));
        }
    }

    [Fact]
    public void Finite_weights_whose_logits_overflow_are_one_line_naming_where()
    {
        var dir = WriteFolder(d => d["unembed.W_U"].Span.Fill(3e38f));
        var tokens = Tokens("[[1, 2, 3]]");

        foreach (var command in new[] { "loss", "logits", "lens" })
        {
            OneLineError(command, dir, "--tokens", tokens, "--json").Should().Contain(Path.Combine(dir, ModelFolder.SafetensorsFileName))
                .And.Contain("the weights are finite but the forward pass overflows: the logit of token 0 at sequence 0, position 0 is ");
        }
    }

    [Fact]
    public void A_shape_that_disagrees_with_the_config_is_named()
    {
        var dir = WriteFolder(d => d["blocks.0.attn.W_Q"] = new CircuitDsl.Tensors.Tensor(2, 4, 8));

        OneLineError("inspect", dir).Should().Be(
            $"circuitdsl: {dir}/model.safetensors: tensor 'blocks.0.attn.W_Q': shape [2, 4, 8] does not match the config, which needs [2, 8, 4].");
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        var dir = WriteFolder(d => d.Remove("blocks.0.attn.b_V"));

        OneLineError("loss", dir, "--tokens", Tokens("[[1, 2]]")).Should().StartWith(
            $"circuitdsl: {dir}/model.safetensors: tensor 'blocks.0.attn.b_V': missing (a model with n_layers=1");
    }

    [Fact]
    public void An_extra_tensor_is_named()
    {
        var dir = WriteFolder(d => d["blocks.1.attn.W_Q"] = new CircuitDsl.Tensors.Tensor(2, 8, 4));

        OneLineError("inspect", dir, "--json").Should().StartWith(
            $"circuitdsl: {dir}/model.safetensors: tensor 'blocks.1.attn.W_Q': unexpected tensor for a model with n_layers=1");
    }

    [Theory]
    [InlineData("d_vocab", 12, "embed.W_E", "shape [11, 8] does not match the config, which needs [12, 8].")]
    [InlineData("n_ctx", 7, "pos_embed.W_pos", "shape [6, 8] does not match the config, which needs [7, 8].")]
    [InlineData("n_heads", 4, "blocks.0.attn.W_Q", "shape [2, 8, 4] does not match the config, which needs [4, 8, 4].")]
    [InlineData("n_layers", 2, "blocks.1.attn.W_Q", "missing (a model with n_layers=2")]
    [InlineData("n_layers", 0, "blocks.0.attn.W_K", "unexpected tensor for a model with n_layers=0")]
    [InlineData("n_layers", 2_000_000_000, "blocks.1.attn.W_Q", "missing (a model with n_layers=2000000000")]
    public void A_config_that_disagrees_with_the_tensors_names_the_first_tensor_that_does_not_fit(string field, int value, string tensor, string problem)
    {
        var dir = WriteFolder(_ => { });
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config[field] = value;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        OneLineError("inspect", dir).Should().StartWith($"circuitdsl: {dir}/model.safetensors: tensor '{tensor}': {problem}");
    }

    [Theory]
    [InlineData("attn_onyl", "attn_only")]
    [InlineData("normalisation_type", "normalization_type")]
    [InlineData("n_head", "n_heads")]
    public void A_misspelled_config_field_is_named_with_the_field_meant(string typo, string meant)
    {
        var dir = WriteFolder(_ => { });
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config[typo] = 1;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        OneLineError("inspect", dir).Should().Be($"circuitdsl: {dir}/config.json: `{typo}`: unknown field; did you mean `{meant}`?");
    }

    [Fact]
    public void A_folder_of_model_folders_names_them()
    {
        var parent = Path.Combine(_temp.Path, "seeds");
        foreach (var seed in new[] { "seed-1", "seed-0" })
        {
            Directory.CreateDirectory(Path.Combine(parent, seed));
            File.Copy(Path.Combine(WriteFolder(_ => { }), "config.json"), Path.Combine(parent, seed, "config.json"));
        }

        OneLineError("inspect", parent).Should().Be(
            $"circuitdsl: {parent}/config.json: missing: a model folder needs config.json. It holds model folders: seed-0, seed-1; give one of them.");
    }

    [Fact]
    public void Fields_transformer_lens_has_or_that_resemble_none_are_read_past()
    {
        var dir = WriteFolder(_ => { });
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["tokenizer_name"] = "gpt2";
        config["trained_by"] = "someone";
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        using var folder = ModelFolder.Load(dir);
        folder.Config.NLayers.Should().Be(1);
    }

    [Theory]
    [InlineData(null, Normalization.LN)]
    [InlineData("null", Normalization.None)]
    [InlineData("\"LNPre\"", Normalization.LNPre)]
    public void A_missing_normalization_type_means_layernorm_as_in_transformer_lens(string? json, Normalization expected)
    {
        var dir = WriteFolder(_ => { });
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config.Remove("normalization_type");
        if (json is not null)
        {
            config["normalization_type"] = JsonNode.Parse(json);
        }

        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

        var read = CircuitDsl.Weights.ConfigJson.Read(Path.Combine(dir, "config.json"));
        read.NormalizationType.Should().Be(expected);
    }

    /// <summary>Runs the CLI expecting bad input: exit code 2, nothing on stdout, one line on stderr (returned).</summary>
    internal static string OneLineError(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        code.Should().Be(2, $"circuitdsl {string.Join(" ", args)} is bad input; stderr: {stderr}");
        stdout.Should().BeEmpty();
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle($"one line of explanation, not {stderr}");
        lines[0].Should().StartWith("circuitdsl: ").And.NotContain("   at ").And.NotContain("Exception");
        return lines[0];
    }

    private string Tokens(string json)
    {
        var path = _temp.File(Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The attn-only fixture, its state dict edited, written as a fresh model folder.</summary>
    private string WriteFolder(Action<Dictionary<string, CircuitDsl.Tensors.Tensor>> edit)
    {
        var dir = _temp.File(Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var source = WeightsFixtures.Folder("attn_only_st");
        using (var folder = ModelFolder.Load(source))
        {
            var dict = folder.Weights.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
            edit(dict);
            using var stream = File.Create(Path.Combine(dir, ModelFolder.SafetensorsFileName));
            SafetensorsFile.Write(stream, [.. dict]);
        }

        File.Copy(Path.Combine(source, ModelFolder.ConfigFileName), Path.Combine(dir, ModelFolder.ConfigFileName));
        return dir;
    }
}
