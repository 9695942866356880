using System.Runtime.CompilerServices;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// Snapshot files with Verify's conventions: <c>{Class}.{Method}#{name}.verified.cs</c> beside the test; a
/// mismatch writes <c>.received.cs</c> there (git-ignored) and fails; <c>CIRCUITDSL_ACCEPT=1</c> accepts it.
/// </summary>
public static class Snapshot
{
    public static void Verify(string actual, string name, string extension = "cs",
        [CallerFilePath] string testFile = "", [CallerMemberName] string method = "")
    {
        var directory = Path.GetDirectoryName(testFile)!;
        var stem = Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(testFile)}.{method}#{name}");
        var verified = $"{stem}.verified.{extension}";
        var received = $"{stem}.received.{extension}";
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("CIRCUITDSL_ACCEPT") == "1")
        {
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return;
        }

        var expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }

        File.WriteAllText(received, actual);
        Assert.Fail(expected is null
            ? $"No snapshot {Path.GetFileName(verified)}; wrote {Path.GetFileName(received)}. Accept with CIRCUITDSL_ACCEPT=1."
            : $"{Path.GetFileName(verified)} differs ({FirstDifference(expected, actual)}); wrote {Path.GetFileName(received)}. "
                + "Accept with CIRCUITDSL_ACCEPT=1.");
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "<end>";
            var al = i < a.Length ? a[i] : "<end>";
            if (el != al)
            {
                return $"line {i + 1}: expected `{el}`, got `{al}`";
            }
        }

        return "line endings";
    }
}
