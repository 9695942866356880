using System.Text.Json;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;

namespace CircuitDsl.Cli;

/// <summary>The <c>--tokens FILE</c> format: a JSON array of token-id arrays, one per sequence, of equal lengths.</summary>
public static class TokensFile
{
    /// <summary>The largest tokens file read (about ten million token ids); larger files are refused by their size.</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    /// <summary>Reads and checks the shape of a tokens file; <see cref="Read(string, ModelConfig)"/> also checks the ids against a model.</summary>
    /// <exception cref="UsageException">The file is missing, unreadable, too large, not JSON, or not an array of integer arrays.</exception>
    public static int[][] Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{path}: tokens file not found.");
        }

        int[][]? tokens;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > MaxBytes)
            {
                throw new UsageException($"{path}: {length} bytes is too large for a tokens file (limit {MaxBytes}).");
            }

            tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: not a JSON array of token-id arrays ({e.Message.Split('.')[0]}).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot read the tokens file: {e.Message}");
        }

        if (tokens is null || tokens.Length == 0 || tokens.Any(t => t is null))
        {
            throw new UsageException($"{path}: expected a non-empty JSON array of token-id arrays, e.g. [[1, 2, 3], [4, 5, 6]].");
        }

        return tokens;
    }

    /// <summary>
    /// Reads a tokens file and checks it against <paramref name="config"/> (<see cref="Tokens.Validate"/>): ids in the
    /// vocabulary, equal lengths, at most <c>n_ctx</c> positions. Problems name the file.
    /// </summary>
    /// <exception cref="UsageException">The file cannot be read, or its tokens do not fit the model.</exception>
    public static int[][] Read(string path, ModelConfig config)
    {
        var tokens = Read(path);
        try
        {
            Tokens.Validate(tokens, config);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{path}: {CommandLine.Reason(e)}");
        }

        return tokens;
    }
}
