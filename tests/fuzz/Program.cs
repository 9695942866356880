using System.Diagnostics;
using System.Globalization;
using CircuitDsl.Tests.Reliability;

// Stress mode of tests/CircuitDsl.Tests/Reliability/HostileWeightsTests: the same generator and checks, for as
// many cases as asked. Prints cases by kind and outcome, crashes, hangs, the slowest case and memory.
// Run: dotnet run -c Release --project tests/fuzz/FuzzWeights.csproj -- --cases 20000 --seed 1 [--timeout 30]
// Exit code 0 when every case was acceptable, 1 otherwise (the first few failures are printed).
var cases = 20_000;
var seed = 1;
var timeout = TimeSpan.FromSeconds(30);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--cases": cases = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--timeout": timeout = TimeSpan.FromSeconds(double.Parse(args[i + 1], CultureInfo.InvariantCulture)); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}; use --cases N --seed S --timeout SECONDS"); return 2;
    }
}

var fixtures = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "CircuitDsl.Tests", "Fixtures", "Weights"));
var work = Directory.CreateTempSubdirectory("circuitdsl-fuzz-").FullName;
var sentinel = Path.Combine(Path.GetTempPath(), $"circuitdsl-fuzz-payload-{Environment.ProcessId}");
var generator = new HostileWeights(fixtures, sentinel);
var stats = HostileWeights.Kinds.ToDictionary(k => k, _ => new int[4]);
var maxAlloc = HostileWeights.Kinds.ToDictionary(k => k, _ => 0L);
var maxMs = HostileWeights.Kinds.ToDictionary(k => k, _ => 0.0);
var failures = new List<string>();
var clock = Stopwatch.StartNew();
var done = 0;
foreach (var c in generator.Cases(seed, cases))
{
    var r = HostileRunner.Run(c, work, sentinel, timeout);
    stats[c.Kind][(int)r.Outcome]++;
    maxAlloc[c.Kind] = Math.Max(maxAlloc[c.Kind], r.AllocatedBytes);
    maxMs[c.Kind] = Math.Max(maxMs[c.Kind], r.Elapsed.TotalMilliseconds);
    if (!r.Acceptable)
    {
        failures.Add($"{c.Kind} ({c.Description}): {string.Join("; ", r.Violations)}");
    }

    if (++done % 1000 == 0)
    {
        Console.Error.WriteLine($"{done}/{cases} cases, {failures.Count} unacceptable, {clock.Elapsed.TotalSeconds:F0} s");
    }

    if (r.Outcome == HostileOutcome.Hung)
    {
        Console.Error.WriteLine("a case hung; its thread is still running, so stopping here");
        break;
    }
}

Directory.Delete(work, recursive: true);
using var self = Process.GetCurrentProcess();
self.Refresh();
Console.WriteLine($"seed {seed}, {done} cases in {clock.Elapsed.TotalSeconds:F1} s, per-case timeout {timeout.TotalSeconds:F0} s");
Console.WriteLine($"{"kind",-22} {"cases",6} {"refused",8} {"loaded",7} {"crashed",8} {"hung",5} {"max alloc KB",13} {"max ms",7}");
foreach (var kind in HostileWeights.Kinds)
{
    var s = stats[kind];
    Console.WriteLine($"{kind,-22} {s.Sum(),6} {s[0],8} {s[1],7} {s[2],8} {s[3],5} {maxAlloc[kind] / 1024,13} {maxMs[kind],7:F0}");
}

var totals = Enumerable.Range(0, 4).Select(o => stats.Values.Sum(s => s[o])).ToArray();
Console.WriteLine($"{"total",-22} {totals.Sum(),6} {totals[0],8} {totals[1],7} {totals[2],8} {totals[3],5}");
Console.WriteLine($"crashes {totals[2]}, hangs {totals[3]}, other violations {failures.Count - totals[2] - totals[3]}");
Console.WriteLine($"peak working set {self.PeakWorkingSet64 / (1024 * 1024)} MB; GC heap now {GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024)} MB; "
    + $"total allocated {GC.GetTotalAllocatedBytes() / (1024 * 1024)} MB; gen2 collections {GC.CollectionCount(2)}");
Console.WriteLine(File.Exists(sentinel) ? $"PAYLOAD RAN: {sentinel} exists" : "no payload ran (sentinel file absent)");
foreach (var f in failures.Take(20))
{
    Console.WriteLine("  " + f);
}

return failures.Count == 0 && !File.Exists(sentinel) ? 0 : 1;
