using System.Text.Json;
using CircuitDsl.Model;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Text;

/// <summary>
/// Hugging Face GPT-2 folders (Fixtures/Gpt2, written by its make_fixtures.py) against a plain-PyTorch GPT-2 forward
/// pass, and their tokenizers against that script's own BPE encoder.
/// </summary>
public sealed class HuggingFaceGpt2Tests : IDisposable
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Gpt2");
    private static readonly Lazy<Expected> Reference = new(() =>
        JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(Root, "expected.json")))!);

    private readonly string _dir = Directory.CreateTempSubdirectory("gpt2-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("hf_st")]
    [InlineData("hf_bin")]
    public void A_checkpoint_gives_the_logits_of_a_plain_PyTorch_GPT2_forward(string folderName)
    {
        using var folder = ModelFolder.Load(Path.Combine(Root, folderName));

        folder.Config.Should().Be(new ModelConfig
        {
            NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 297, NCtx = 32, DMlp = 256,
            ActFn = ActivationFunction.GeluNew, NormalizationType = Normalization.LN,
        });
        var logits = new HookedTransformer(folder.Weights).Forward(Reference.Value.Tokens);

        AssertLogits(logits.Span.ToArray(), Reference.Value.Logits);
    }

    [Theory]
    [InlineData("hf_st")]
    [InlineData("hf_bin")]
    public void The_folders_tokenizer_encodes_as_GPT2s_BPE_does_with_BOS_first(string folderName)
    {
        var tokenizer = Tokenizer.FromFolder(Path.Combine(Root, folderName))!;
        var expected = Reference.Value;

        tokenizer.BosTokenId.Should().Be(expected.Ids["<|endoftext|>"]);
        expected.Texts.Select(t => tokenizer.Encode(t)).Should().BeEquivalentTo(expected.Tokens, o => o.WithStrictOrdering());
        tokenizer.Encode(" the", prependBos: false).Should().Equal(expected.Ids["Ġthe"]);
        tokenizer.Decode(tokenizer.Encode(expected.Texts[1])).Should().Be("<|endoftext|>" + expected.Texts[1]);
        tokenizer.ToStrTokens(tokenizer.Encode("the cat", prependBos: false)).Should().Equal("the", " cat");
    }

    [Fact]
    public void Logits_takes_text_and_runs_it_through_the_folders_tokenizer()
    {
        var expected = Reference.Value;

        var (code, stdout, stderr) = CliRunner.Run(
            "logits", Path.Combine(Root, "hf_st"), "--text", expected.Texts[0], "--text", expected.Texts[1], "--json");

        code.Should().Be(0, stderr);
        var logits = JsonDocument.Parse(stdout).RootElement.GetProperty("logits").EnumerateArray()
            .SelectMany(s => s.EnumerateArray()).SelectMany(p => p.EnumerateArray()).Select(v => v.GetSingle()).ToArray();
        AssertLogits(logits, expected.Logits);
    }

    [Fact]
    public void Patch_takes_clean_and_corrupted_text_and_answers_written_as_one_token_texts()
    {
        var folder = Path.Combine(Root, "hf_st");
        var tokenizer = Tokenizer.FromFolder(folder)!;
        var words = new[] { " the", " cat", " dog", " sat", " on", " a", " mat" };
        var single = words.Where(w => tokenizer.Encode(w, prependBos: false).Length == 1).ToArray();
        single.Should().HaveCountGreaterThanOrEqualTo(2, "the fixture's BPE has whole-word tokens");
        var clean = Reference.Value.Texts[0] + single[0];
        var corrupted = Reference.Value.Texts[0] + single[1];
        var cleanTokens = Path.Combine(_dir, "clean.json");
        var corruptedTokens = Path.Combine(_dir, "corrupted.json");
        File.WriteAllText(cleanTokens, JsonSerializer.Serialize(new[] { tokenizer.Encode(clean) }));
        File.WriteAllText(corruptedTokens, JsonSerializer.Serialize(new[] { tokenizer.Encode(corrupted) }));
        var (answer, wrong) = (tokenizer.Encode(single[0], prependBos: false)[0], tokenizer.Encode(single[1], prependBos: false)[0]);

        var fromText = CliRunner.Run("patch", folder, "--clean", clean, "--corrupted", corrupted, "--answer", single[0], "--wrong", single[1], "--json");
        var fromIds = CliRunner.Run("patch", folder, "--clean-tokens", cleanTokens, "--corrupted-tokens", corruptedTokens,
            "--answer", $"{answer}", "--wrong", $"{wrong}", "--json");

        fromText.Code.Should().Be(0, fromText.Stderr);
        fromIds.Code.Should().Be(0, fromIds.Stderr);
        fromText.Stdout.Should().Be(fromIds.Stdout);
        var twoTokens = CliRunner.Run("patch", folder, "--clean", clean, "--corrupted", corrupted, "--answer", "the cat sat", "--wrong", single[1]);
        twoTokens.Code.Should().Be(2);
        twoTokens.Stderr.Should().Contain("--answer \"the cat sat\" is").And.Contain("tokens, not one");
        var mixed = CliRunner.Run("patch", folder, "--clean", clean, "--corrupted-tokens", corruptedTokens, "--answer", "1", "--wrong", "2");
        mixed.Code.Should().Be(2);
        mixed.Stderr.Should().Contain("give the inputs as one pair");
    }

    [Fact]
    public void Text_files_and_no_prepend_bos_give_the_same_batch_as_the_tokens_they_stand_for()
    {
        var textFile = Path.Combine(_dir, "text.txt");
        File.WriteAllText(textFile, Reference.Value.Texts[0]);
        var tokensFile = Path.Combine(_dir, "tokens.json");
        File.WriteAllText(tokensFile, JsonSerializer.Serialize(new[] { Reference.Value.Tokens[0][1..] }));
        var dir = Path.Combine(Root, "hf_bin");

        var fromText = CliRunner.Run("loss", dir, "--text-file", textFile, "--no-prepend-bos", "--json");
        var fromTokens = CliRunner.Run("loss", dir, "--tokens", tokensFile, "--json");

        fromText.Code.Should().Be(0, fromText.Stderr);
        fromText.Stdout.Should().Be(fromTokens.Stdout);
    }

    [Fact]
    public void The_logits_table_labels_tokens_with_their_text()
    {
        var (code, stdout, stderr) = CliRunner.Run("logits", Path.Combine(Root, "hf_st"), "--text", "the cat");

        code.Should().Be(0, stderr);
        stdout.Should().Contain("\"<|endoftext|>\" 296").And.Contain("\" cat\"");
    }

    [Fact]
    public void Convert_writes_a_TransformerLens_folder_with_the_same_logits_and_the_tokenizer()
    {
        var target = Path.Combine(_dir, "tl");

        var (code, stdout, stderr) = CliRunner.Run("convert", Path.Combine(Root, "hf_bin"), "--out", target);

        code.Should().Be(0, stderr);
        stdout.Should().Contain("2 layers");
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(target, "config.json"))).RootElement;
        config.GetProperty("n_layers").GetInt32().Should().Be(2);
        config.GetProperty("act_fn").GetString().Should().Be("gelu_new");
        config.GetProperty("normalization_type").GetString().Should().Be("LN");
        config.TryGetProperty("model_type", out _).Should().BeFalse();
        File.Exists(Path.Combine(target, "vocab.json")).Should().BeTrue();
        File.Exists(Path.Combine(target, "merges.txt")).Should().BeTrue();
        using var converted = ModelFolder.Load(target);
        converted.Weights.ToStateDict().Select(t => t.Key).Should().Contain(["blocks.1.attn.W_Q", "unembed.W_U", "ln_final.w"]);
        AssertLogits(new HookedTransformer(converted.Weights).Forward(Reference.Value.Tokens).Span.ToArray(), Reference.Value.Logits);
        Tokenizer.FromFolder(target)!.Encode(Reference.Value.Texts[0]).Should().Equal(Reference.Value.Tokens[0]);
    }

    [Fact]
    public void Convert_refuses_to_write_into_a_folder_that_holds_anything()
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir, "busy")).FullName;
        File.WriteAllText(Path.Combine(target, "config.json"), "{}");

        var (code, _, stderr) = CliRunner.Run("convert", Path.Combine(Root, "hf_st"), "--out", target);

        code.Should().Be(2);
        stderr.Should().Contain("new or empty folder");
        File.ReadAllText(Path.Combine(target, "config.json")).Should().Be("{}");
    }

    private static void AssertLogits(float[] actual, float[][][] expected)
    {
        var flat = expected.SelectMany(s => s.SelectMany(p => p)).ToArray();
        actual.Should().HaveCount(flat.Length);
        var scale = flat.Max(Math.Abs);
        for (var i = 0; i < flat.Length; i++)
        {
            Math.Abs(actual[i] - flat[i]).Should().BeLessThanOrEqualTo(1e-4f * Math.Max(scale, Math.Abs(flat[i])), "logit {0}", i);
        }
    }

    private sealed record Expected(
        [property: System.Text.Json.Serialization.JsonPropertyName("texts")] string[] Texts,
        [property: System.Text.Json.Serialization.JsonPropertyName("tokens")] int[][] Tokens,
        [property: System.Text.Json.Serialization.JsonPropertyName("ids")] Dictionary<string, int> Ids,
        [property: System.Text.Json.Serialization.JsonPropertyName("logits")] float[][][] Logits);
}
