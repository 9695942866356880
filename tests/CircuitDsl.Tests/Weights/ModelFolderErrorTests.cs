using System.Text.Json.Nodes;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Weights;

public sealed class ModelFolderErrorTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_missing_folder_is_named()
    {
        var dir = _temp.File("nope");

        var error = Load(dir);

        error.File.Should().Be(dir);
        error.Message.Should().Be($"{dir}: the model folder does not exist.");
    }

    [Fact]
    public void A_file_in_place_of_a_folder_is_named()
    {
        var file = _temp.File("model.pth");
        File.WriteAllText(file, "x");

        Load(file).Problem.Should().Be("is a file, not a model folder.");
    }

    [Fact]
    public void A_missing_config_is_named()
    {
        File.Copy(WeightsFixtures.Folder("attn_only_st") + "/model.safetensors", _temp.File("model.safetensors"));

        var error = Load(_temp.Path);

        error.File.Should().Be(_temp.File("config.json"));
        error.Problem.Should().Be("missing: a model folder needs config.json.");
    }

    [Theory]
    [InlineData("{\"n_layers\": 1,", "invalid JSON: ")]
    [InlineData("[1, 2]", "must hold a JSON object, not Array.")]
    [InlineData("{\"n_layers\": 1}", "invalid config: required field 'n_heads' is missing or null.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": null, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6}", "required field 'n_heads' is missing or null")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": \"8\", \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6}", "invalid config: field 'd_model' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"positional_embedding_type\": null}", "field 'positional_embedding_type' has a value of the wrong type, or null")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_model\": 9, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6}", "invalid config: field 'd_model' appears twice.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 0, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"attn_only\": false}", "invalid config: d_model must be positive (got 0). d_mlp must be positive when attn_only is false (got null). act_fn must be gelu, gelu_new or relu (got null).")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"normalization_type\": \"RMS\"}", "invalid config: normalization_type must be LN, LNPre or null (got RMS).")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"positional_embedding_type\": \"rotary\"}", "invalid config: positional_embedding_type must be standard or shortformer (got rotary).")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"act_fn\": 3}", "invalid config: field 'act_fn' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1.5, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6}", "invalid config: field 'n_layers' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 3000000000}", "invalid config: field 'n_ctx' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"attn_only\": null}", "invalid config: field 'attn_only' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"attn_only\": 1}", "invalid config: field 'attn_only' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"seed\": \"7\"}", "invalid config: field 'seed' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"tokenizer_name\": 2}", "invalid config: field 'tokenizer_name' has a value of the wrong type, or null where one is required.")]
    [InlineData("{\"n_layers\": 1, \"n_heads\": 2, \"d_model\": 8, \"d_head\": 4, \"d_vocab\": 11, \"n_ctx\": 6, \"d_mlp\": 32, \"attn_only\": false, \"act_fn\": \"swish\"}", "invalid config: act_fn must be gelu, gelu_new or relu (got swish).")]
    public void A_bad_config_is_named_with_what_is_wrong(string json, string problem)
    {
        _temp.CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        File.WriteAllText(_temp.File("config.json"), json);

        var error = Load(_temp.Path);

        error.File.Should().Be(_temp.File("config.json"));
        error.Problem.Should().Contain(problem);
    }

    [Fact]
    public void A_folder_without_weights_is_named()
    {
        File.Copy(WeightsFixtures.Folder("attn_only_st") + "/config.json", _temp.File("config.json"));

        Load(_temp.Path).Problem.Should().Be("no weights file: expected model.safetensors or model.pth.");
    }

    [Theory]
    [InlineData("attn_only_st", "model.safetensors")]
    [InlineData("attn_only_pth", "model.pth")]
    public void Weights_for_another_config_name_the_tensor_that_does_not_fit(string fixture, string weightsFile)
    {
        _temp.CopyFrom(WeightsFixtures.Folder(fixture));
        EditConfig(c => c["d_head"] = 5);

        var error = Load(_temp.Path);

        error.File.Should().Be(_temp.File(weightsFile));
        error.Tensor.Should().Be("blocks.0.attn.W_Q");
        error.Problem.Should().Be("shape [2, 8, 4] does not match the config, which needs [2, 8, 5].");
    }

    [Theory]
    [InlineData("attn_only_st", "model.safetensors")]
    [InlineData("attn_only_pth", "model.pth")]
    public void A_missing_tensor_is_named(string fixture, string weightsFile)
    {
        _temp.CopyFrom(WeightsFixtures.Folder(fixture));
        EditConfig(c =>
        {
            c["normalization_type"] = "LN";
        });

        var error = Load(_temp.Path);

        error.File.Should().Be(_temp.File(weightsFile));
        error.Tensor.Should().Be("blocks.0.ln1.w");
        error.Problem.Should().StartWith("missing (a model with n_layers=1");
    }

    [Fact]
    public void An_extra_tensor_is_named()
    {
        using (var source = ModelFolder.Load(WeightsFixtures.Folder("attn_only_pth")))
        {
            var tensors = source.Weights.ToStateDict().Append(new("blocks.0.attn.W_extra", new Tensor(2))).ToList();
            using var s = File.Create(_temp.File("model.safetensors"));
            SafetensorsFile.Write(s, tensors);
        }

        File.Copy(WeightsFixtures.Folder("attn_only_pth") + "/config.json", _temp.File("config.json"));

        var error = Load(_temp.Path);

        error.Tensor.Should().Be("blocks.0.attn.W_extra");
        error.Problem.Should().StartWith("unexpected tensor");
    }

    [Fact]
    public void A_corrupt_safetensors_in_a_folder_is_named_and_its_mapping_released()
    {
        _temp.CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        var bytes = File.ReadAllBytes(_temp.File("model.safetensors"));
        File.WriteAllBytes(_temp.File("model.safetensors"), bytes[..^4]);

        var error = Load(_temp.Path);

        error.File.Should().Be(_temp.File("model.safetensors"));
        error.Tensor.Should().Be("unembed.b_U");
        error.Problem.Should().Contain("run past the end of the data");
        Directory.Delete(_temp.Path, recursive: true);
    }

    private void EditConfig(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(_temp.File("config.json")))!.AsObject();
        edit(json);
        File.WriteAllText(_temp.File("config.json"), json.ToJsonString());
    }

    private static WeightsFormatException Load(string dir)
    {
        var load = () => ModelFolder.Load(dir);
        return load.Should().Throw<WeightsFormatException>().Which;
    }
}
