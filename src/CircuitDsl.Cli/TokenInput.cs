using System.CommandLine;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// The token batch a command runs on, from exactly one of <c>--tokens FILE</c> (token ids), <c>--text TEXT</c> or
/// <c>--text-file FILE</c> (text, through the model's <see cref="Tokenizer"/>); <c>--text</c> and <c>--text-file</c>
/// may be repeated, one sequence each, and mixed. Text is encoded as TransformerLens's <c>to_tokens</c> encodes it:
/// BOS (<c>&lt;|endoftext|&gt;</c>) first unless <c>--no-prepend-bos</c>, no truncation (a sequence longer than
/// <c>n_ctx</c> is refused), and every sequence must come out the same length.
/// </summary>
internal sealed class TokenInput
{
    /// <summary>The largest <c>--text-file</c> read.</summary>
    public const long MaxTextFileBytes = 16L * 1024 * 1024;

    private readonly bool _required;

    private TokenInput(bool required, string tokensDescription)
    {
        _required = required;
        Tokens = new Option<string>("--tokens") { Description = tokensDescription };
        Text = new Option<string[]>("--text")
        {
            Description = "A text to run on, tokenized with the model's tokenizer (repeat for more sequences of equal token length).",
        };
        TextFile = new Option<string[]>("--text-file")
        {
            Description = "A UTF-8 file whose whole content is one text to run on (repeatable, like --text).",
        };
        NoPrependBos = new Option<bool>("--no-prepend-bos")
        {
            Description = "Do not put the BOS token (<|endoftext|>) before each text; by default it is prepended, as TransformerLens does.",
        };
    }

    /// <summary><c>--tokens FILE</c>.</summary>
    public Option<string> Tokens { get; }

    /// <summary><c>--text TEXT</c>, repeatable.</summary>
    public Option<string[]> Text { get; }

    /// <summary><c>--text-file FILE</c>, repeatable.</summary>
    public Option<string[]> TextFile { get; }

    /// <summary><c>--no-prepend-bos</c>.</summary>
    public Option<bool> NoPrependBos { get; }

    /// <summary>
    /// The four options for <paramref name="command"/>; <paramref name="required"/> when the command cannot run
    /// without a batch. <paramref name="defaultNote"/> says what an optional batch defaults to.
    /// </summary>
    public static TokenInput AddTo(Command command, bool required, string? defaultNote = null)
    {
        var description = "JSON file: an array of token-id arrays (one per sequence, equal lengths)."
            + (defaultNote is null ? "" : " " + defaultNote);
        var input = new TokenInput(required, description);
        command.Options.Add(input.Tokens);
        command.Options.Add(input.Text);
        command.Options.Add(input.TextFile);
        command.Options.Add(input.NoPrependBos);
        return input;
    }

    /// <summary>Whether text is given (<c>--text</c> or <c>--text-file</c>), so the command will need the folder's tokenizer.</summary>
    public bool HasText(ParseResult parse) =>
        parse.GetValue(Text) is { Length: > 0 } || parse.GetValue(TextFile) is { Length: > 0 };

    /// <summary>
    /// The batch the options give, checked against <paramref name="folder"/>'s config; null when none was given
    /// and the batch is optional.
    /// </summary>
    /// <exception cref="UsageException">None or more than one kind was given, a file is unreadable, the folder has no
    /// tokenizer for text, or the tokens do not fit the model.</exception>
    public int[][]? Read(ParseResult parse, ModelFolder folder) => Read(parse, new FolderTokenizer(folder));

    /// <summary>
    /// As <see cref="Read(ParseResult, ModelFolder)"/>, with the tokenizer a command keeps for its other uses (labels,
    /// token flags).
    /// </summary>
    /// <exception cref="UsageException">As <see cref="Read(ParseResult, ModelFolder)"/>.</exception>
    public int[][]? Read(ParseResult parse, FolderTokenizer text)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(text);
        var folder = text.Folder;
        var tokensFile = parse.GetValue(Tokens);
        var texts = (parse.GetValue(Text) ?? []).Select(t => (Text: t, Source: "--text")).ToList();
        foreach (var file in parse.GetValue(TextFile) ?? [])
        {
            texts.Add((ReadTextFile(file), file));
        }

        if (tokensFile is not null && texts.Count > 0)
        {
            throw new UsageException("give either --tokens or --text/--text-file, not both.");
        }

        if (tokensFile is not null)
        {
            return TokensFile.Read(tokensFile, folder.Config);
        }

        if (texts.Count == 0)
        {
            return _required ? throw new UsageException("give the tokens to run on: --tokens FILE, --text TEXT or --text-file FILE.") : null;
        }

        return Encode(text, texts, !parse.GetValue(NoPrependBos));
    }

    /// <summary>
    /// Encodes each text (one sequence each) with the folder's tokenizer and checks the batch against the folder's
    /// config; <c>Source</c> names the text in errors (a file, or the flag it came from).
    /// </summary>
    /// <exception cref="UsageException">The folder has no tokenizer, or the encoded batch does not fit the model.</exception>
    public static int[][] Encode(FolderTokenizer text, IReadOnlyList<(string Text, string Source)> texts, bool prependBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(texts);
        var tokenizer = text.Require();
        var batch = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            try
            {
                batch[i] = tokenizer.Encode(texts[i].Text, prependBos);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"{texts[i].Source}: {CommandLine.Reason(e)}");
            }

            if (batch[i].Length == 0)
            {
                throw new UsageException($"{texts[i].Source}: the text has no tokens.");
            }
        }

        for (var i = 1; i < batch.Length; i++)
        {
            if (batch[i].Length != batch[0].Length)
            {
                throw new UsageException($"{texts[i].Source}: the text is {batch[i].Length} tokens long but {texts[0].Source} is {batch[0].Length}; "
                    + "the sequences of one batch must have equal token lengths.");
            }
        }

        try
        {
            Model.Tokens.Validate(batch, text.Folder.Config);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{texts[0].Source}: {CommandLine.Reason(e)}");
        }

        return batch;
    }

    /// <summary>Reads a UTF-8 text file of at most <see cref="MaxTextFileBytes"/>.</summary>
    /// <exception cref="UsageException">The file is missing, too large, unreadable or not UTF-8.</exception>
    public static string ReadTextFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new UsageException($"{path}: text file not found.");
            }

            if (info.Length > MaxTextFileBytes)
            {
                throw new UsageException($"{path}: {info.Length} bytes is too large for a text file (limit {MaxTextFileBytes}).");
            }

            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new UsageException($"{path}: the text file is not UTF-8.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the text file: {e.Message}");
        }
    }
}
