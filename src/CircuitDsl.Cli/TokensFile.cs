using System.Text.Json;

namespace CircuitDsl.Cli;

/// <summary>The <c>--tokens FILE</c> format: a JSON array of token-id arrays, one per sequence, of equal lengths.</summary>
public static class TokensFile
{
    /// <summary>Reads and checks the shape of a tokens file (ids are checked against the model by the forward pass).</summary>
    /// <exception cref="UsageException">The file is missing, not JSON, or not an array of integer arrays.</exception>
    public static int[][] Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{path}: tokens file not found.");
        }

        int[][]? tokens;
        try
        {
            tokens = JsonSerializer.Deserialize<int[][]>(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: not a JSON array of token-id arrays ({e.Message.Split('.')[0]}).");
        }

        if (tokens is null || tokens.Length == 0 || tokens.Any(t => t is null))
        {
            throw new UsageException($"{path}: expected a non-empty JSON array of token-id arrays, e.g. [[1, 2, 3], [4, 5, 6]].");
        }

        return tokens;
    }
}
