using System.Text;
using System.Text.Json.Nodes;
using CircuitDsl.Tests.Weights;
using CircuitDsl.Text;
using CircuitDsl.Weights;
using static CircuitDsl.Tests.Reliability.WrongWeightsTests;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// The inputs text and Hugging Face folders bring: tokenizer files, GPT-2 configs and GPT-2 checkpoints, malformed or
/// malicious. Each is refused with a <see cref="WeightsFormatException"/> naming the file (one line and exit code 2 on
/// the command line), within a time and allocation bound, with nothing executed.
/// </summary>
public sealed class HostileGpt2Tests : IDisposable
{
    private static readonly string Gpt2Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Gpt2");

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Sentinel => _temp.File("payload-ran");

    /// <summary>Every pickle, zip and safetensors attack of <see cref="HostileWeights"/>, in a Hugging Face GPT-2 folder.</summary>
    [Fact]
    public void The_weights_file_attacks_are_refused_in_a_Hugging_Face_folder_too()
    {
        var config = File.ReadAllBytes(Path.Combine(Gpt2Fixtures, "hf_bin", "config.json"));
        var cases = new HostileWeights(WeightsFixtures.Root, Sentinel).Cases(seed: 18_18, count: 17 * 4)
            .Where(c => c.Kind is not (HostileKind.Control or HostileKind.FlippedBytes or HostileKind.BadShape or HostileKind.DtypeShapeMismatch))
            .Select(c => c with
            {
                Config = config,
                WeightsFileName = c.WeightsFileName == ModelFolder.PthFileName ? "pytorch_model.bin" : c.WeightsFileName,
            })
            .ToList();

        var results = cases.Select(c => HostileRunner.Run(c, _temp.Path, Sentinel, TimeSpan.FromSeconds(20))).ToList();

        results.Where(r => !r.Acceptable).Select(r => $"{r.Case.Kind} ({r.Case.Description}): {string.Join("; ", r.Violations)}")
            .Should().BeEmpty();
        results.Should().OnlyContain(r => r.Outcome == HostileOutcome.Refused);
        cases.Select(c => c.WeightsFileName).Should().Contain("pytorch_model.bin");
        File.Exists(Sentinel).Should().BeFalse();
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "model_type llama", """{"model_type": "llama"}""", "only GPT-2" },
        { "model_type a number", """{"model_type": 2}""", "not supported" },
        { "no n_embd", Config(c => c.Remove("n_embd")), "'n_embd' is missing" },
        { "negative n_layer", Config(c => c["n_layer"] = -1), "n_layer must not be negative" },
        { "zero n_head", Config(c => c["n_head"] = 0), "n_head must be a positive integer" },
        { "n_embd beyond int", Config(c => c["n_embd"] = 1e12), "n_embd must be an integer" },
        { "n_embd a string", Config(c => c["n_embd"] = "64"), "n_embd must be an integer" },
        { "n_embd not a multiple of n_head", Config(c => c["n_head"] = 5), "not a multiple" },
        { "huge n_layer", Config(c => c["n_layer"] = 2_000_000_000), "h.0.attn.c_attn.weight" },
        { "huge n_embd and vocab", Config(c => { c["n_embd"] = 2_000_000_000; c["n_head"] = 1; c["vocab_size"] = 2_000_000_000; c["n_inner"] = 4; }), "wte.weight" },
        { "huge n_inner", Config(c => c["n_inner"] = 2_000_000_000), "c_fc.weight" },
        { "no positions", Config(c => { c.Remove("n_positions"); c.Remove("n_ctx"); }), "n_positions" },
        { "other epsilon", Config(c => c["layer_norm_epsilon"] = 1e-6), "layer_norm_epsilon" },
        { "unknown activation", Config(c => c["activation_function"] = "swish"), "activation_function 'swish'" },
        { "scaled by layer", Config(c => c["scale_attn_by_inverse_layer_idx"] = true), "scale_attn_by_inverse_layer_idx" },
        { "cross attention a string", Config(c => c["add_cross_attention"] = "yes"), "true or false" },
        { "deep nesting", "{\"model_type\": \"gpt2\", \"x\": " + new string('[', 100) + new string(']', 100) + "}", "config.json" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_GPT2_config_is_one_line_naming_it(string what, string config, string expected)
    {
        var dir = _temp.File(what.Replace(' ', '-'));
        new TempFolderCopy(dir).From(Path.Combine(Gpt2Fixtures, "hf_st"));
        File.WriteAllText(Path.Combine(dir, "config.json"), config);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var line = OneLineError("logits", dir, "--tokens", WriteTokens("[[1, 2]]"));

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(64L << 20, "memory follows the file, not the sizes it claims");
        line.Should().Contain(dir).And.Contain(expected);
    }

    [Theory]
    [InlineData("c_attn transposed")]
    [InlineData("extra tensor")]
    [InlineData("missing ln_f")]
    [InlineData("lm_head of another shape")]
    public void A_checkpoint_with_wrong_tensors_is_one_line_naming_the_tensor(string what)
    {
        var dir = Directory.CreateDirectory(_temp.File(what.Replace(' ', '-'))).FullName;
        File.Copy(Path.Combine(Gpt2Fixtures, "hf_st", "config.json"), Path.Combine(dir, "config.json"));
        {
            var tensors = SafetensorsFile.Open(Path.Combine(Gpt2Fixtures, "hf_st", "model.safetensors"));
            var state = tensors.Tensors.ToDictionary(t => t.Key, t => t.Value.Clone());
            tensors.Dispose();
            (string Name, Action Edit) edit = what switch
            {
                "c_attn transposed" => ("h.1.attn.c_attn.weight", () => state["h.1.attn.c_attn.weight"] = state["h.1.attn.c_attn.weight"].Transpose()),
                "extra tensor" => ("h.0.attn.c_attn.extra", () => state["h.0.attn.c_attn.extra"] = new CircuitDsl.Tensors.Tensor(3)),
                "missing ln_f" => ("ln_f.weight", () => state.Remove("ln_f.weight")),
                _ => ("lm_head.weight", () => state["lm_head.weight"] = new CircuitDsl.Tensors.Tensor(297, 3)),
            };
            edit.Edit();
            using (var stream = File.Create(Path.Combine(dir, "model.safetensors")))
            {
                SafetensorsFile.Write(stream, [.. state]);
            }

            var line = OneLineError("inspect", dir);

            line.Should().Contain(Path.Combine(dir, "model.safetensors")).And.Contain(edit.Name);
        }
    }

    public static TheoryData<string, string, string> BadTokenizers => new()
    {
        { "tokenizer.json", "not json", "invalid JSON" },
        { "tokenizer.json", "[]", "no \"model\" object" },
        { "tokenizer.json", """{"model": {"type": "WordPiece", "vocab": {}}}""", "only a BPE" },
        { "tokenizer.json", """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "byte-level" },
        { "tokenizer.json", ByteLevel("""{"a": -1}""", "[]"), "integer in [0, 4194304)" },
        { "tokenizer.json", ByteLevel("""{"a": 99999999999}""", "[]"), "integer in [0, 4194304)" },
        { "tokenizer.json", ByteLevel("""{"a": 0, "b": 0}""", "[]"), "id 0 is given to two tokens" },
        { "tokenizer.json", ByteLevel("""{"a": 0, "a": 1}""", "[]"), "appears twice" },
        { "tokenizer.json", ByteLevel("""{"a": "zero"}""", "[]"), "must be an integer" },
        { "tokenizer.json", ByteLevel("{}", "[]"), "the vocabulary is empty" },
        { "tokenizer.json", ByteLevel("""{"a": 0, "b": 1}""", """["a b"]"""), "not in the vocabulary" },
        { "tokenizer.json", ByteLevel("""{"a": 0, "b": 1, "ab": 2}""", """["a  b"]"""), "two tokens separated by one space" },
        { "tokenizer.json", ByteLevel("""{"a": 0, "b": 1, "ab": 2}""", """[["a", "b", "c"]]"""), "model.merges[0]" },
        { "tokenizer.json", ByteLevel("""{"a": 0}""", "{}"), "model.merges must be an array" },
        { "tokenizer.json", "{\"model\": " + new string('[', 5000) + new string(']', 5000) + "}", "invalid JSON" },
        { "vocab.json", """{"a": 0}""", "merges.txt: missing" },
        { "merges.txt", "a b\n", "vocab.json: missing" },
    };

    [Theory]
    [MemberData(nameof(BadTokenizers))]
    public void A_bad_tokenizer_file_is_one_line_naming_it_and_text_runs_nothing(string file, string content, string expected)
    {
        var dir = _temp.File("tok");
        new TempFolderCopy(dir).From(Path.Combine(Gpt2Fixtures, "hf_st"));
        File.Delete(Path.Combine(dir, "tokenizer.json"));
        File.WriteAllText(Path.Combine(dir, file), content);

        var load = () => Tokenizer.FromFolder(dir);
        load.Should().Throw<WeightsFormatException>().Which.Message.Should().Contain(expected);
        var line = OneLineError("logits", dir, "--text", "the cat");

        line.Should().Contain(dir).And.Contain(expected);
    }

    [Fact]
    public void Tokenizer_files_are_read_only_up_to_their_limit_and_text_only_in_UTF8()
    {
        var dir = _temp.File("big");
        new TempFolderCopy(dir).From(Path.Combine(Gpt2Fixtures, "hf_bin"));
        using (var merges = File.OpenWrite(Path.Combine(dir, "merges.txt")))
        {
            merges.SetLength(Tokenizer.MaxFileBytes + 1); // sparse: no disk used
        }

        // On this thread: a command given text reads the tokenizer on another one, while it loads the model.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = () => Tokenizer.FromFolder(dir);
        read.Should().Throw<WeightsFormatException>().Which.Message.Should().Contain("too large for a tokenizer file");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(16L << 20);
        OneLineError("logits", dir, "--text", "the").Should().Contain("too large for a tokenizer file");

        File.Copy(Path.Combine(Gpt2Fixtures, "hf_bin", "merges.txt"), Path.Combine(dir, "merges.txt"), overwrite: true);
        File.WriteAllBytes(Path.Combine(dir, "merges.txt"), [.. File.ReadAllBytes(Path.Combine(dir, "merges.txt")), 0xFF, 0xFE, (byte)'\n']);
        OneLineError("logits", dir, "--text", "the").Should().Contain("not UTF-8 text");

        var text = _temp.File("latin1.txt");
        File.WriteAllBytes(text, [0x63, 0x61, 0xE9]);
        OneLineError("logits", Path.Combine(Gpt2Fixtures, "hf_bin"), "--text-file", text).Should().Contain("not UTF-8");
    }

    [Fact]
    public void Text_that_does_not_fit_the_model_is_one_line()
    {
        var dir = Path.Combine(Gpt2Fixtures, "hf_st");

        OneLineError("logits", dir, "--text", string.Concat(Enumerable.Repeat("the cat ", 40))).Should().Contain("n_ctx=32");
        OneLineError("logits", dir, "--text", "the cat", "--text", "the").Should().Contain("equal token lengths");
        OneLineError("logits", dir, "--text", "", "--no-prepend-bos").Should().Contain("no tokens");
        OneLineError("logits", dir, "--text", "x", "--tokens", WriteTokens("[[1]]")).Should().Contain("not both");
        OneLineError("logits", dir).Should().Contain("--text TEXT");
        OneLineError("logits", WeightsFixtures.Folder("attn_only_st"), "--text", "x").Should().Contain("no tokenizer");
        OneLineError("logits", dir, "--text-file", _temp.File("absent.txt")).Should().Contain("text file not found");
    }

    private string WriteTokens(string json)
    {
        var path = _temp.File(Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string Config(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Gpt2Fixtures, "hf_st", "config.json")))!.AsObject();
        edit(config);
        return config.ToJsonString();
    }

    private static string ByteLevel(string vocab, string merges) =>
        "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": " + vocab + ", \"merges\": " + merges + "}}";

    private sealed class TempFolderCopy(string dir)
    {
        public void From(string source)
        {
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(source))
            {
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
            }
        }
    }
}
