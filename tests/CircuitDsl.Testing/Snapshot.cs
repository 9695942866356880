using System.Runtime.CompilerServices;
using System.Text;

namespace CircuitDsl.Testing;

/// <summary>
/// Snapshot assertions with Verify's file conventions, so that moving to Verify later changes one call:
/// <c>{Class}.{Method}.verified.{ext}</c> beside the test's source file is the accepted output; a mismatch
/// writes <c>{Class}.{Method}.received.{ext}</c> next to it and fails with a line diff.
/// </summary>
/// <remarks>
/// Set the environment variable <c>CIRCUITDSL_ACCEPT=1</c> to accept every received snapshot as the new
/// verified one (then review the diff in version control). <c>{Class}</c> is the test file's name, which by the
/// project's convention is the test class's name.
/// </remarks>
public static class Snapshot
{
    /// <summary>The environment variable that, set to <c>1</c>, accepts received snapshots.</summary>
    public const string AcceptVariable = "CIRCUITDSL_ACCEPT";

    /// <summary>
    /// Asserts that <paramref name="actual"/> equals the verified snapshot of the calling test. Line endings are
    /// normalised to <c>\n</c>. <paramref name="name"/> distinguishes several snapshots of one test
    /// (<c>{Class}.{Method}.{name}.verified.{ext}</c>), as Verify's <c>UseParameters</c>/<c>UseTextForParameters</c> do.
    /// </summary>
    /// <exception cref="SnapshotMismatchException">The snapshot is missing or differs.</exception>
    public static void Verify(
        string actual,
        string extension = "txt",
        string? name = null,
        [CallerFilePath] string sourceFile = "",
        [CallerMemberName] string method = "")
    {
        var directory = Path.GetDirectoryName(sourceFile) ?? ".";
        var stem = Path.GetFileNameWithoutExtension(sourceFile) + "." + method + (name is null ? "" : "." + name);
        VerifyAt(actual, Path.Combine(directory, stem), extension,
            Environment.GetEnvironmentVariable(AcceptVariable) == "1");
    }

    /// <summary>
    /// The engine behind <see cref="Verify"/>: compares with <c>{pathStem}.verified.{extension}</c>, writing
    /// <c>{pathStem}.received.{extension}</c> on a mismatch, or accepting it when <paramref name="accept"/> is set.
    /// </summary>
    public static void VerifyAt(string actual, string pathStem, string extension, bool accept)
    {
        ArgumentNullException.ThrowIfNull(actual);
        var verified = $"{pathStem}.verified.{extension}";
        var received = $"{pathStem}.received.{extension}";
        var text = Normalize(actual);
        var expected = File.Exists(verified) ? Normalize(File.ReadAllText(verified)) : null;
        if (expected == text)
        {
            File.Delete(received);
            return;
        }

        if (accept)
        {
            File.WriteAllText(verified, text, Utf8NoBom);
            File.Delete(received);
            return;
        }

        File.WriteAllText(received, text, Utf8NoBom);
        var message = new StringBuilder();
        if (expected is null)
        {
            message.AppendLine($"No verified snapshot {Path.GetFileName(verified)} yet.");
            message.AppendLine($"Review {received}; if it is right, rename it to .verified.{extension} or rerun with {AcceptVariable}=1.");
        }
        else
        {
            message.AppendLine($"Snapshot {Path.GetFileName(verified)} differs from what the test produced (- verified, + received):");
            message.Append(LineDiff.Describe(expected, text));
            message.AppendLine($"Received output written to {received}; if it is right, rerun with {AcceptVariable}=1.");
        }

        throw new SnapshotMismatchException(message.ToString());
    }

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static string Normalize(string s) => s.Replace("\r\n", "\n", StringComparison.Ordinal);
}

/// <summary>A snapshot that is missing or differs from what the test produced.</summary>
public sealed class SnapshotMismatchException(string message) : Exception(message);
