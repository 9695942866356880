using CircuitDsl.Tests.Weights;
using static CircuitDsl.Tests.Reliability.WrongWeightsTests;

namespace CircuitDsl.Tests.Reliability;

/// <summary>
/// The command line on bad arguments, files that fail to read, unwritable output and bad tokens files: exit code 2,
/// exactly one line on standard error, nothing on standard output, no stack trace. (Files the user may not read:
/// <see cref="PermissionDeniedTests"/>.) Linux only: it uses /proc.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BadInputTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Model => WeightsFixtures.Folder("attn_only_st");

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("inspect")]
    [InlineData("inspect", "--no-such-option")]
    [InlineData("loss", "DIR")]
    [InlineData("logits", "DIR", "--tokens")]
    [InlineData("train", "--task", "bigram")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--steps", "ten")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--layers", "-1")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--steps", "99999999999")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--lr", "NaN")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--lr", "-1")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--batch-size", "0")]
    [InlineData("train", "--task", "bigram", "--out", "x", "--context", "1")]
    public void Bad_arguments_are_one_line(params string[] args)
    {
        var fixedArgs = args.Select(a => a == "x" ? _temp.File("x") : a.Replace("DIR", Model, StringComparison.Ordinal)).ToArray();

        OneLineError(fixedArgs);

        Directory.Exists(_temp.File("x")).Should().BeFalse("nothing is written for a refused request");
    }

    [Fact]
    public void A_learning_rate_that_makes_training_diverge_is_one_line_naming_the_step()
    {
        var line = OneLineError("train", "--layers", "1", "--heads", "1", "--d-model", "8", "--d-head", "8", "--vocab", "8", "--context", "8",
            "--task", "bigram", "--steps", "50", "--lr", "1e30", "--warmup", "0", "--out", _temp.File("diverged"));

        line.Should().Contain("step");
    }

    [Fact]
    public void A_config_that_fails_to_read_is_one_line()
    {
        // Reading /proc/self/mem at offset 0 fails with EIO, whoever we are. Permission denied: PermissionDeniedTests.
        var dir = _temp.File("eio-config");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Model, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        File.CreateSymbolicLink(Path.Combine(dir, "config.json"), "/proc/self/mem");

        OneLineError("inspect", dir).Should().Contain(Path.Combine(dir, "config.json")).And.Contain("cannot read the file");
    }

    [Fact]
    public void An_unreadable_weights_file_is_one_line()
    {
        var dir = _temp.File("eio");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(Model, "config.json"), Path.Combine(dir, "config.json"));
        File.CreateSymbolicLink(Path.Combine(dir, "model.safetensors"), "/proc/self/mem");

        OneLineError("inspect", dir).Should().Contain(Path.Combine(dir, "model.safetensors"));
    }

    [Theory]
    [InlineData("through-a-file")]
    [InlineData("dangling-link")]
    [InlineData("link-loop")]
    public void A_model_folder_path_that_cannot_be_a_folder_is_one_line(string how)
    {
        var path = how switch
        {
            "through-a-file" => Path.Combine(WriteFile("plain.txt", "x"), "model"),
            "dangling-link" => Link("dangling", _temp.File("nowhere")),
            _ => Link("loop", _temp.File("loop")),
        };

        OneLineError("inspect", path).Should().Contain(path);
    }

    [Theory]
    [InlineData("file/sub")]
    [InlineData("/proc/circuitdsl-cannot-create")]
    [InlineData("/dev/null/out")]
    public void Train_onto_an_output_path_that_cannot_be_created_fails_at_once_in_one_line(string outPath)
    {
        WriteFile("file", "x");
        var path = outPath.StartsWith('/') ? outPath : _temp.File(outPath);

        OneLineError("train", "--layers", "0", "--vocab", "8", "--context", "8", "--d-model", "8", "--normalization", "none",
            "--task", "bigram", "--steps", "200", "--out", path).Should().Contain(path.Split('/')[^2] is var parent && parent.Length > 0 ? parent : path);
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "[[1, 2, 99]]", "Token id 99 at sequence 0, position 2 is outside the vocabulary [0, 11)" },
        { "[[1, -2, 3]]", "Token id -2 at sequence 0, position 1 is outside the vocabulary [0, 11)" },
        { "[[1, 2.5, 3]]", "not a JSON array of token-id arrays" },
        { "[[1, \"2\", 3]]", "not a JSON array of token-id arrays" },
        { "[[1, 99999999999]]", "not a JSON array of token-id arrays" },
        { "[[1, true]]", "not a JSON array of token-id arrays" },
        { "[[1, 2], null]", "expected a non-empty JSON array of token-id arrays" },
        { "[[1, 2], [3]]", "Sequence 1 has 1 tokens; sequence 0 has 2" },
        { "[[]]", "Sequence 0 is empty." },
        { "[[1, 2, 3, 4, 5, 6, 7]]", "Sequences have 7 tokens; the model's context is n_ctx=6." },
        { "", "not a JSON array of token-id arrays" },
        { "\u0000\u0001\u0002", "not a JSON array of token-id arrays" },
        { "[[1, 2]] trailing", "not a JSON array of token-id arrays" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public void A_bad_tokens_file_is_one_line_naming_the_file(string content, string reason)
    {
        var tokens = WriteFile("tokens.json", content);

        foreach (var command in new[] { "loss", "logits", "inspect" })
        {
            var line = OneLineError(command, Model, "--tokens", tokens);

            line.Should().Contain(tokens, command).And.Contain(reason, command).And.NotContain("(Parameter", command);
        }
    }

    [Fact]
    public void A_deeply_nested_tokens_file_is_one_line()
    {
        var tokens = WriteFile("deep.json", new string('[', 100_000) + new string(']', 100_000));

        OneLineError("loss", Model, "--tokens", tokens).Should().Contain(tokens);
    }

    [Fact]
    public void A_huge_tokens_file_is_refused_by_its_size_without_reading_it()
    {
        // A sparse 3 GB file: refused by its length, never allocated.
        var tokens = _temp.File("huge.json");
        using (var s = File.Create(tokens))
        {
            s.SetLength(3L << 30);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var line = OneLineError("loss", Model, "--tokens", tokens);

        line.Should().Contain(tokens);
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(64L << 20);
    }

    [Fact]
    public void A_tokens_path_that_is_a_folder_is_one_line()
    {
        OneLineError("loss", Model, "--tokens", _temp.Path).Should().Contain(_temp.Path);
    }

    private string WriteFile(string name, string content)
    {
        var path = _temp.File(name);
        File.WriteAllText(path, content);
        return path;
    }

    private string Link(string name, string target)
    {
        var path = _temp.File(name);
        File.CreateSymbolicLink(path, target);
        return path;
    }
}
