namespace CircuitDsl.Cli.Application;

/// <summary>What commands that write a new model folder from an existing one (<c>extract</c>, <c>rotate</c>, <c>compose</c>) share.</summary>
public static class DerivedModel
{
    /// <summary>Refuses an output folder that is the input folder: the new model would overwrite the one it is read from.</summary>
    /// <exception cref="UsageException">The two paths name the same folder.</exception>
    public static void RequireDistinct(string input, string output)
    {
        if (string.Equals(Normalize(input), Normalize(output), StringComparison.Ordinal))
        {
            throw new UsageException($"--out {output} is the model folder being read; write the new model somewhere else.");
        }
    }

    /// <summary>Parses a comma-separated list of head ids (<c>0.2,1.3</c>), refusing a malformed or repeated one.</summary>
    /// <exception cref="UsageException">An id is malformed or listed twice.</exception>
    public static HeadId[] ParseHeads(string option, string text)
    {
        var heads = new List<HeadId>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!HeadId.TryParse(part, out var id, out var error))
            {
                throw new UsageException($"{option}: {error}");
            }

            if (heads.Contains(id))
            {
                throw new UsageException($"{option}: head {id} is listed twice.");
            }

            heads.Add(id);
        }

        return [.. heads];
    }

    private static string Normalize(string path) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
}
