using System.Text;

namespace CircuitDsl.Testing;

/// <summary>A readable line diff for failure messages: a longest-common-subsequence diff with context.</summary>
public static class LineDiff
{
    /// <summary>Lines of context shown around each change.</summary>
    public const int Context = 2;

    /// <summary>At most this many diff lines are shown; the rest are counted.</summary>
    public const int MaxLines = 60;

    /// <summary>
    /// The changes from <paramref name="expected"/> to <paramref name="actual"/> as <c>-</c>/<c>+</c> lines with
    /// line numbers, <see cref="Context"/> lines of context, and <c>…</c> between distant hunks.
    /// </summary>
    public static string Describe(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var ops = Diff(a, b);
        var show = new bool[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            if (ops[i].Kind != ' ')
            {
                for (var j = Math.Max(0, i - Context); j <= Math.Min(ops.Count - 1, i + Context); j++)
                {
                    show[j] = true;
                }
            }
        }

        var sb = new StringBuilder();
        var shown = 0;
        var gap = false;
        for (var i = 0; i < ops.Count; i++)
        {
            if (!show[i])
            {
                gap = true;
                continue;
            }

            if (gap && shown > 0)
            {
                sb.AppendLine("  …");
            }

            gap = false;
            if (shown++ == MaxLines)
            {
                sb.AppendLine($"  … and {show.Skip(i).Count(s => s)} more diff lines");
                break;
            }

            var (kind, line, text) = ops[i];
            sb.AppendLine($"{kind} {line,4}: {text}");
        }

        return sb.ToString();
    }

    private static List<(char Kind, int Line, string Text)> Diff(string[] a, string[] b)
    {
        // Trim the common prefix and suffix so the quadratic table only covers the changed middle.
        var start = 0;
        while (start < a.Length && start < b.Length && a[start] == b[start])
        {
            start++;
        }

        int endA = a.Length, endB = b.Length;
        while (endA > start && endB > start && a[endA - 1] == b[endB - 1])
        {
            endA--;
            endB--;
        }

        int n = endA - start, m = endB - start;
        var ops = new List<(char, int, string)>();
        for (var i = 0; i < start; i++)
        {
            ops.Add((' ', i + 1, a[i]));
        }

        if ((long)n * m > 4_000_000)
        {
            // Too large to align line by line: show the whole middle as replaced.
            for (var i = 0; i < n; i++)
            {
                ops.Add(('-', start + i + 1, a[start + i]));
            }

            for (var j = 0; j < m; j++)
            {
                ops.Add(('+', start + j + 1, b[start + j]));
            }
        }
        else
        {
            var lcs = new int[n + 1, m + 1];
            for (var i = n - 1; i >= 0; i--)
            {
                for (var j = m - 1; j >= 0; j--)
                {
                    lcs[i, j] = a[start + i] == b[start + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
                }
            }

            int x = 0, y = 0;
            while (x < n || y < m)
            {
                if (x < n && y < m && a[start + x] == b[start + y])
                {
                    ops.Add((' ', start + x + 1, a[start + x]));
                    x++;
                    y++;
                }
                else if (y < m && (x == n || lcs[x, y + 1] >= lcs[x + 1, y]))
                {
                    ops.Add(('+', start + y + 1, b[start + y]));
                    y++;
                }
                else
                {
                    ops.Add(('-', start + x + 1, a[start + x]));
                    x++;
                }
            }
        }

        for (var i = endA; i < a.Length; i++)
        {
            ops.Add((' ', i + 1, a[i]));
        }

        return ops;
    }
}
