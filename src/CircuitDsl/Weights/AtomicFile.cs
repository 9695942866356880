namespace CircuitDsl.Weights;

/// <summary>Replaces a file all at once, so a crash leaves either the old file or the new one, never a torn one.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes the new contents to a temporary file in the same folder, flushes it to disk, then renames it over
    /// <paramref name="path"/> (an atomic replace on POSIX file systems and NTFS). The temporary file is removed
    /// if writing fails.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure is the one worth reporting; a leftover .tmp file is harmless.
        }
    }
}
