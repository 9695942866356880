using System.Text.Json;
using System.Text.Json.Serialization;

namespace CircuitDsl.Model;

/// <summary>
/// The tokens file (the command line's <c>--tokens FILE</c>, a claim's <c>Data</c>): a JSON array of token-id arrays,
/// one per sequence. Every problem is a <see cref="WeightsFormatException"/> naming the file.
/// </summary>
public static class TokensFile
{
    /// <summary>The largest tokens file read (about ten million token ids); larger files are refused by their size.</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    /// <summary>Reads and checks the shape of a tokens file; <see cref="Read(string, ModelConfig)"/> also checks the ids against a model.</summary>
    /// <exception cref="WeightsFormatException">The file is missing, unreadable, too large, not JSON, or not an array of integer arrays.</exception>
    public static int[][] Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new WeightsFormatException(path, null, "tokens file not found.");
        }

        int[][]? tokens;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxBytes)
            {
                throw new WeightsFormatException(path, null, $"{length} bytes is too large for a tokens file (limit {MaxBytes}).");
            }

            tokens = JsonSerializer.Deserialize(File.ReadAllBytes(path), TokensJsonContext.Default.Int32ArrayArray);
        }
        catch (JsonException e)
        {
            throw new WeightsFormatException(path, null, $"not a JSON array of token-id arrays ({e.Message.Split('.')[0]}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFormatException(path, null, $"cannot read the tokens file: {e.Message}", e);
        }

        if (tokens is null || tokens.Length == 0 || tokens.Any(t => t is null))
        {
            throw new WeightsFormatException(path, null, "expected a non-empty JSON array of token-id arrays, e.g. [[1, 2, 3], [4, 5, 6]].");
        }

        return tokens;
    }

    /// <summary>
    /// Reads a tokens file and checks it against <paramref name="config"/> (<see cref="Tokens.Validate"/>): ids in the
    /// vocabulary, equal lengths, at most <c>n_ctx</c> positions. Problems name the file.
    /// </summary>
    /// <exception cref="WeightsFormatException">The file cannot be read, or its tokens do not fit the model.</exception>
    public static int[][] Read(string path, ModelConfig config)
    {
        var tokens = Read(path);
        try
        {
            Tokens.Validate(tokens, config);
        }
        catch (ArgumentException e)
        {
            throw new WeightsFormatException(path, null, e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal), e);
        }

        return tokens;
    }
}

/// <summary>The tokens file's JSON shape, for trimming-safe reading.</summary>
[JsonSerializable(typeof(int[][]))]
internal sealed partial class TokensJsonContext : JsonSerializerContext;
