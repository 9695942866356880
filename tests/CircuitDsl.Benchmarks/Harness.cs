using System.Diagnostics;
using System.Globalization;

namespace CircuitDsl.Benchmarks;

/// <summary>
/// The plain timing harness: warm-up runs, then N timed repetitions; prints one tab-separated RESULT line per
/// workload (median, quartiles, min, max in seconds, the repetitions, and the GFLOP of matrix work per run),
/// the format tests/benchmarks/bench_torch.py prints too, so tests/benchmarks/table.py can pair them.
/// </summary>
internal static class Harness
{
    public static void Measure(string name, int warmup, int reps, double gflop, Action body)
    {
        for (var i = 0; i < warmup; i++)
        {
            body();
        }

        var times = new double[reps];
        for (var i = 0; i < reps; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            body();
            times[i] = clock.Elapsed.TotalSeconds;
        }

        Report(name, times, gflop);
    }

    public static void Report(string name, double[] times, double gflop)
    {
        Array.Sort(times);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Join('\t',
            "RESULT", name, Quantile(times, 0.5).ToString("G6", inv), Quantile(times, 0.25).ToString("G6", inv),
            Quantile(times, 0.75).ToString("G6", inv), times[0].ToString("G6", inv), times[^1].ToString("G6", inv),
            times.Length.ToString(inv), gflop.ToString("G6", inv)));
    }

    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }
}
