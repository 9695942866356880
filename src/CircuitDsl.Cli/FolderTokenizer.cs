using System.Collections.Concurrent;
using CircuitDsl.Cli.Application;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// A model folder's tokenizer as one command uses it: read from disk on first use and then kept, so encoding several
/// texts, token flags and labels reads the tokenizer files once.
/// </summary>
internal sealed class FolderTokenizer(ModelFolder folder)
{
    /// <summary>Tokenizers being read ahead (<see cref="Prefetch"/>), by folder, each taken by the first command that asks.</summary>
    private static readonly ConcurrentDictionary<string, Task<Tokenizer?>> Ahead = new(StringComparer.Ordinal);

    private readonly Lazy<Tokenizer?> _tokenizer = new(() =>
        Ahead.TryRemove(folder.Directory, out var ahead) ? ahead.GetAwaiter().GetResult() : Tokenizer.FromFolder(folder.Directory));

    /// <summary>
    /// Starts reading the tokenizer of the model folder <paramref name="directory"/> on another thread, for a command
    /// that will encode text once the model is loaded: GPT-2's built-in tokenizer takes ~0.1 s to build, which then
    /// overlaps loading the weights instead of following it. What it throws is thrown where the tokenizer is first used.
    /// </summary>
    public static void Prefetch(string directory)
    {
        // Keyed as ModelFolder.Load names the folder; a path it would refuse is left to it to report.
        if (string.IsNullOrWhiteSpace(directory) || directory.Contains('\0', StringComparison.Ordinal))
        {
            return;
        }

        var full = Path.GetFullPath(directory);
        Ahead[full] = Task.Run(() => Tokenizer.FromFolder(full));
    }

    /// <summary>The model folder.</summary>
    public ModelFolder Folder { get; } = folder;

    /// <summary>The folder's tokenizer, or a usage error saying how to give the folder one.</summary>
    /// <exception cref="UsageException">The folder has no tokenizer.</exception>
    public Tokenizer Require() =>
        _tokenizer.Value ?? throw new UsageException(
            $"{Folder.Directory}: the model folder has no tokenizer for text (add tokenizer.json, vocab.json + merges.txt, or \"tokenizer_name\": \"gpt2\" in config.json); give --tokens instead.");

    /// <summary>
    /// A token given on the command line (<paramref name="option"/>, e.g. <c>--answer</c>) as its id, or as a text that
    /// the tokenizer makes one token (<c>" Mary"</c>). Whether an id is in the vocabulary is the caller's check.
    /// </summary>
    /// <exception cref="UsageException">The text is not one token, or the folder has no tokenizer.</exception>
    public int TokenId(string option, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        var ids = Require().Encode(value, prependBos: false);
        return ids.Length == 1
            ? ids[0]
            : throw new UsageException($"{option} \"{value}\" is {ids.Length} tokens, not one; give a token id or a text that is one token.");
    }

    /// <summary>
    /// How reports label token ids of the folder's model: the token's text (quoted, escaped) and id when the folder has
    /// a tokenizer, the id alone when it has none.
    /// </summary>
    public Func<int, string> Labels()
    {
        if (_tokenizer.Value is not { } tokenizer)
        {
            return id => id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return id => $"{Quote(tokenizer.ToStrTokens([id])[0])} {id}";
    }

    private static string Quote(string token) =>
        System.Text.Json.JsonSerializer.Serialize(token, new System.Text.Json.JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
}
