using System.Text.Json;
using CircuitDsl.Tests.Cli;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Training;

/// <summary>
/// <c>train --data</c> on a text file: tokenized with the tokenizer the new model carries (<c>--tokenizer</c>), the
/// folder it writes then reads <c>--text</c> itself; bad text data and vocabulary mismatches are one-line errors.
/// </summary>
public sealed class TextDataTests : IDisposable
{
    private const string Text = "the cat sat on the mat and the dog sat on the log and the cat ran to the dog";

    private readonly string _dir = Directory.CreateTempSubdirectory("text-data-tests").FullName;

    public TextDataTests()
    {
        // A byte-level BPE of 29 tokens: the letters, space (Ġ), newline (Ċ) and <|endoftext|>, and one merge.
        var tokenizer = Directory.CreateDirectory(Path.Combine(_dir, "tokenizer")).FullName;
        var vocab = "abcdefghijklmnopqrstuvwxyz".Select((c, i) => (Key: c.ToString(), Id: i))
            .Concat([(Key: "Ġ", Id: 26), (Key: "Ċ", Id: 27), (Key: Tokenizer.EndOfText, Id: 28), (Key: "th", Id: 29)])
            .ToDictionary(p => p.Key, p => p.Id);
        File.WriteAllText(Path.Combine(tokenizer, Tokenizer.VocabFileName), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(tokenizer, Tokenizer.MergesFileName), "#version: 0.2\nt h\n");
        File.WriteAllText(Path.Combine(_dir, "story.txt"), Text + "\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TokenizerDir => Path.Combine(_dir, "tokenizer");

    private string Story => Path.Combine(_dir, "story.txt");

    [Fact]
    public void A_text_trains_with_the_chosen_tokenizer_and_the_written_folder_reads_text()
    {
        var model = Path.Combine(_dir, "model");
        Run("train", "--layers", "1", "--heads", "2", "--d-model", "16", "--d-head", "8", "--vocab", "32", "--context", "8",
            "--data", Story, "--tokenizer", TokenizerDir, "--steps", "4", "--batch-size", "2", "--out", model);

        // The folder carries the tokenizer, so it encodes text as the tokenizer folder does: BOS, "th" merged, letters, spaces.
        File.ReadAllText(Path.Combine(model, Tokenizer.VocabFileName)).Should().Be(File.ReadAllText(Path.Combine(TokenizerDir, Tokenizer.VocabFileName)));
        Tokenizer.FromFolder(model)!.Encode("the cat").Should().Equal(28, 29, 4, 26, 2, 0, 19);
        var text = Loss(model, "--text", "the cat");
        var tokens = Path.Combine(_dir, "the-cat.json");
        File.WriteAllText(tokens, "[[28, 29, 4, 26, 2, 0, 19]]");
        text.Should().Be(Loss(model, "--tokens", tokens), "the text is those token ids");

        // Resuming reads the text again through the folder's own tokenizer.
        Run("train", "--resume", model, "--data", Story, "--steps", "2", "--out", Path.Combine(_dir, "tuned"));
        Loss(Path.Combine(_dir, "tuned"), "--text", "the cat").Should().NotBe(text, "two more steps on the text moved the weights");

        // Fine-tuned in place (the folder named with a trailing separator), the tokenizer's files stay as they are.
        Run("train", "--resume", model, "--data", Story, "--steps", "1", "--out", model + Path.DirectorySeparatorChar);
        Tokenizer.FromFolder(model)!.Encode("the cat").Should().Equal(28, 29, 4, 26, 2, 0, 19);
    }

    [Fact]
    public void The_builtin_gpt2_tokenizer_is_named_in_the_config_of_the_folder_train_writes()
    {
        var model = Path.Combine(_dir, "gpt2-model");
        Run("train", "--layers", "1", "--heads", "1", "--d-model", "8", "--d-head", "8", "--vocab", "50257", "--context", "8",
            "--data", Story, "--tokenizer", "gpt2", "--steps", "1", "--batch-size", "1", "--out", model);

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, ModelFolder.ConfigFileName)));
        config.RootElement.GetProperty("tokenizer_name").GetString().Should().Be("gpt2");
        Directory.EnumerateFiles(model).Select(Path.GetFileName).Should().NotContain(Tokenizer.VocabFileName);
        Loss(model, "--text", "the cat sat").Should().BePositive();
    }

    [Theory]
    [InlineData("--vocab 16 --tokenizer TOK --data STORY", "story.txt: Token 28 at offset 0 of the data is outside the vocabulary of 16. The tokenizer gives ids up to 29: give the model --vocab 30 or more.")]
    [InlineData("--vocab 32 --data STORY", "story.txt: a text file (not .json token ids) needs the model's tokenizer: give --tokenizer gpt2 or a folder that carries one.")]
    [InlineData("--vocab 32 --tokenizer nowhere --data STORY", "--tokenizer nowhere: neither 'gpt2' nor a folder.")]
    [InlineData("--vocab 32 --tokenizer EMPTY --data STORY", "the folder carries no tokenizer")]
    [InlineData("--vocab 32 --tokenizer TOK --data LATIN1", "latin1.txt: the text file is not UTF-8.")]
    [InlineData("--vocab 32 --tokenizer TOK --data MISSING", "missing.txt: text file not found.")]
    [InlineData("--vocab 32 --tokenizer TOK --data TOKENS", "tokens.json: not a JSON array of token-id arrays")]
    [InlineData("--vocab 32 --tokenizer TOK --resume MODEL --data STORY", "--tokenizer is for a new model")]
    public void Bad_text_data_is_a_one_line_error(string args, string reason)
    {
        File.WriteAllBytes(Path.Combine(_dir, "latin1.txt"), [0x63, 0xE9, 0x74]);
        File.WriteAllText(Path.Combine(_dir, "tokens.json"), Text);
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var model = Path.Combine(_dir, "resumable");
        ModelFolder.Save(model, CircuitDsl.Model.TransformerWeights.Zeros(new() { NLayers = 1, NHeads = 1, DModel = 4, DHead = 4, DVocab = 32, NCtx = 8, AttnOnly = true }));
        var resolved = args.Split(' ').Select(a => a switch
        {
            "TOK" => TokenizerDir,
            "STORY" => Story,
            "EMPTY" => empty,
            "LATIN1" => Path.Combine(_dir, "latin1.txt"),
            "MISSING" => Path.Combine(_dir, "missing.txt"),
            "TOKENS" => Path.Combine(_dir, "tokens.json"),
            "MODEL" => model,
            _ => a,
        });

        var error = Reliability.WrongWeightsTests.OneLineError(["train", "--layers", "1", "--heads", "2", "--d-model", "16", "--d-head", "8",
            "--context", "8", "--steps", "1", "--out", Path.Combine(_dir, "out"), .. resolved]);
        error.Should().Contain(reason);
        Directory.Exists(Path.Combine(_dir, "out")).Should().BeFalse("nothing is written for a refused run");
    }

    private static void Run(params string[] args)
    {
        var (code, _, stderr) = CliRunner.Run(args);
        code.Should().Be(0, stderr);
    }

    private static double Loss(string model, params string[] input)
    {
        var (code, stdout, stderr) = CliRunner.Run(["loss", model, .. input, "--json"]);
        code.Should().Be(0, stderr);
        return JsonDocument.Parse(stdout).RootElement.GetProperty("loss").GetDouble();
    }
}
