using System.Diagnostics;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Reliability;

/// <summary>How loading one hostile folder ended.</summary>
public enum HostileOutcome
{
    /// <summary>A <see cref="WeightsFormatException"/>: the only acceptable failure.</summary>
    Refused,

    /// <summary>The folder loaded and every tensor was readable.</summary>
    Loaded,

    /// <summary>Any other exception escaped: a crash.</summary>
    Crashed,

    /// <summary>Still running at the per-case timeout.</summary>
    Hung,
}

/// <summary>What happened to one case, and what it cost.</summary>
public sealed record HostileResult(HostileCase Case, HostileOutcome Outcome, string Message, TimeSpan Elapsed, long AllocatedBytes,
    IReadOnlyList<string> Violations)
{
    /// <summary>
    /// Most bytes a load may allocate: proportional to the file, never to a size the file merely claims. Entries
    /// may expand 64-fold (data.pkl's first MB at any ratio), and unpickling costs up to ~8 bytes per pickle byte
    /// in list slots plus a memo capped near 90 MB.
    /// </summary>
    public long AllocationBudget => (600 * Case.Weights.LongLength) + (128L << 20);

    public bool Acceptable => Violations.Count == 0;
}

/// <summary>
/// Loads hostile model folders with <see cref="ModelFolder.Load"/> on a worker thread, with a timeout, measuring
/// the bytes that thread allocates, and checks that nothing was written and no process was started.
/// </summary>
public static class HostileRunner
{
    public static HostileResult Run(HostileCase c, string workDir, string sentinel, TimeSpan timeout)
    {
        var dir = Path.Combine(workDir, "case");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, ModelFolder.ConfigFileName), c.Config);
        File.WriteAllBytes(Path.Combine(dir, c.WeightsFileName), c.Weights);
        var childrenBefore = ChildProcesses();
        var workBefore = Listing(workDir);

        var outcome = HostileOutcome.Hung;
        var message = "";
        long allocated = 0;
        var watch = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var folder = ModelFolder.Load(dir);
                double sum = 0;
                foreach (var (_, tensor) in folder.Weights.ToStateDict())
                {
                    foreach (var v in tensor.Span)
                    {
                        sum += v;
                    }
                }

                message = $"loaded (checksum {sum})";
                outcome = HostileOutcome.Loaded;
            }
            catch (WeightsFormatException e)
            {
                message = e.Message;
                outcome = HostileOutcome.Refused;
            }
            catch (Exception e)
            {
                message = e.ToString();
                outcome = HostileOutcome.Crashed;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, maxStackSize: 1 << 20) { IsBackground = true };
        thread.Start();
        var finished = thread.Join(timeout);
        watch.Stop();

        var violations = new List<string>();
        if (!finished)
        {
            violations.Add($"still running after {timeout.TotalSeconds:F0} s");
            return new HostileResult(c, HostileOutcome.Hung, "", watch.Elapsed, 0, violations);
        }

        var result = new HostileResult(c, outcome, message, watch.Elapsed, allocated, violations);
        switch (outcome)
        {
            case HostileOutcome.Crashed:
                violations.Add("escaped as " + message);
                break;
            case HostileOutcome.Loaded when !c.MayLoad:
                violations.Add("loaded, but must be refused");
                break;
            case HostileOutcome.Refused when c.Expect is { } expect && !message.Contains(expect, StringComparison.Ordinal):
                violations.Add($"refused without naming '{expect}': {message}");
                break;
            case HostileOutcome.Refused when !message.StartsWith(Path.Combine(dir, c.WeightsFileName), StringComparison.Ordinal):
                violations.Add("the message does not start with the weights file's path: " + message);
                break;
        }

        if (allocated > result.AllocationBudget)
        {
            violations.Add($"allocated {allocated} bytes for a {c.Weights.Length}-byte file (budget {result.AllocationBudget})");
        }

        if (File.Exists(sentinel))
        {
            violations.Add($"the payload's file {sentinel} exists: something was executed");
        }

        var caseFiles = Listing(dir);
        if (!caseFiles.SequenceEqual([ModelFolder.ConfigFileName, c.WeightsFileName], StringComparer.Ordinal))
        {
            violations.Add("the case folder changed: " + string.Join(", ", caseFiles));
        }

        if (!Listing(workDir).SequenceEqual(workBefore, StringComparer.Ordinal))
        {
            violations.Add("files appeared next to the case folder");
        }

        // Other tests may start processes of their own (a browser); a payload's process names the sentinel.
        var payloadChildren = ChildProcesses().Except(childrenBefore).Where(pid => CommandLine(pid).Contains(sentinel, StringComparison.Ordinal)).ToList();
        if (payloadChildren.Count > 0)
        {
            violations.Add("a payload's process was started: " + string.Join(", ", payloadChildren));
        }

        return result;
    }

    /// <summary>The process ids of this process's children (Linux /proc; empty elsewhere).</summary>
    public static IReadOnlyList<int> ChildProcesses()
    {
        var tasks = $"/proc/{Environment.ProcessId}/task";
        if (!Directory.Exists(tasks))
        {
            return [];
        }

        var children = new List<int>();
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                children.AddRange(File.ReadAllText(Path.Combine(task, "children"))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
            }
            catch (IOException)
            {
                // The thread ended while we listed it.
            }
        }

        return children;
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static List<string> Listing(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(dir, p)).Order(StringComparer.Ordinal)];
}
