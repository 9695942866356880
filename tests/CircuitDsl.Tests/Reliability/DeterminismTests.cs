using System.Collections.Concurrent;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Circuits;
using Xunit.Abstractions;

namespace CircuitDsl.Tests.Reliability;

/// <summary>Checks on one loaded model from many threads give exactly the numbers of a sequential run.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public void Many_checks_on_one_model_from_parallel_threads_are_bitwise_those_of_a_sequential_run()
    {
        var weights = Checks.Model();
        var sequential = new ModelAnalysis(weights);
        var expected = Checks.All.ToDictionary(c => c.Name, c => c.Run(sequential));

        // A fresh analysis, so its lazily computed tables are first built under contention too.
        var shared = new ModelAnalysis(weights);
        var work = Enumerable.Range(0, 6).SelectMany(_ => Checks.All).OrderBy(c => Random.Shared.Next()).ToList();
        var mismatches = new ConcurrentBag<string>();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = 8 }, check =>
        {
            var actual = check.Run(shared);
            if (!actual.SequenceEqual(expected[check.Name]))
            {
                mismatches.Add(check.Name);
            }
        });

        mismatches.Should().BeEmpty();
        expected.Values.Should().OnlyContain(bits => bits.Length > 0);
    }
}

/// <summary>
/// A report's text is the same across runs and across GEMM backends. These replace <see cref="Gemm.Backend"/>,
/// so they run alone (the Tensors tests' non-parallel collection) and restore it.
/// </summary>
[Collection("GemmBackendSwap")]
public sealed class BackendDeterminismTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Backends()
    {
        yield return ["managed"];
        if (OpenBlasGemm.IsAvailable || Environment.GetEnvironmentVariable("CIRCUITDSL_REQUIRE_OPENBLAS") == "1")
        {
            yield return ["openblas"];
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Parallel_checks_match_a_sequential_run_on_each_backend(string backend)
    {
        WithBackend(backend, () =>
        {
            var weights = Checks.Model();
            var expected = Checks.All.ToDictionary(c => c.Name, c => c.Run(new ModelAnalysis(weights)));
            var shared = new ModelAnalysis(weights);
            var bad = new ConcurrentBag<string>();
            Parallel.ForEach(Enumerable.Range(0, 4).SelectMany(_ => Checks.All), new ParallelOptions { MaxDegreeOfParallelism = 8 }, c =>
            {
                if (!c.Run(shared).SequenceEqual(expected[c.Name]))
                {
                    bad.Add(c.Name);
                }
            });
            bad.Should().BeEmpty();
            return 0;
        });
    }

    [Fact]
    public void A_report_is_the_same_text_across_runs_and_across_backends()
    {
        var weights = Checks.Model();
        var texts = new Dictionary<string, string>();
        var values = new Dictionary<string, double[]>();
        foreach (var backend in Backends().Select(b => (string)b[0]))
        {
            var (first, measured) = WithBackend(backend, () => Checks.Report(new ModelAnalysis(weights)));
            var (second, _) = WithBackend(backend, () => Checks.Report(new ModelAnalysis(weights)));
            second.Should().Be(first, $"two runs on {backend} give the same report");
            texts[backend] = first;
            values[backend] = measured;
        }

        if (texts.Count < 2)
        {
            return;
        }

        // The raw values may differ in their last bits between kernels (summation order); the text rounds to 3
        // decimals. Print how far apart they are, then require equal text.
        var largest = values["managed"].Zip(values["openblas"], (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"largest difference of a measured value between backends: {largest:E2}");
        texts["openblas"].Should().Be(texts["managed"]);
    }

    private static T WithBackend<T>(string name, Func<T> run)
    {
        var previous = Gemm.Backend;
        Gemm.Backend = name == "managed" ? new ManagedGemm() : new OpenBlasGemm();
        try
        {
            return run();
        }
        finally
        {
            Gemm.Backend = previous;
        }
    }
}

/// <summary>The checks both tests run: every hypothesis kind, the forward pass and ablation, as raw bits.</summary>
internal static class Checks
{
    public sealed record Check(string Name, Func<ModelAnalysis, long[]> Run);

    // Wide enough (d_model 96, d_mlp 192, vocab 101) that the kernels' blocking and summation orders come into play.
    private static readonly int[][] Tokens = [.. Enumerable.Range(0, 4).Select(s =>
    {
        var rng = new Random(s);
        var half = Enumerable.Range(0, 12).Select(_ => rng.Next(101)).ToArray();
        return (int[])[.. half, .. half];
    })];

    public static TransformerWeights Model() =>
        RandomWeights.Create(RandomWeights.Config(layers: 2, heads: 3, dModel: 96, dHead: 32, vocab: 101, ctx: 24, norm: Normalization.LN, attnOnly: false),
            seed: 42, scale: 0.2f);

    public static IReadOnlyList<Check> All { get; } = Build();

    /// <summary>A report of one hypothesis of each kind, and the measured values behind it.</summary>
    public static (string Text, double[] Measured) Report(ModelAnalysis a)
    {
        var evidence = Evidence(a).ToList();
        return (a.Report("determinism", evidence).ToText(), [.. evidence.Select(e => e.Measured)]);
    }

    private static IEnumerable<Evidence> Evidence(ModelAnalysis a)
    {
        yield return Hypotheses.PreviousTokenHead(a, "prev", "", new HeadId(0, 1), 0.3, Bound.AtLeast);
        yield return Hypotheses.DuplicateTokenHead(a, "dup", "", new HeadId(0, 2), 0.3, Bound.AtLeast);
        yield return Hypotheses.InductionHead(a, "ind", "", new HeadId(1, 0), 0.3, Bound.AtLeast);
        yield return Hypotheses.CopyingHead(a, "copy", "", new HeadId(1, 2), 0.1, Bound.AtLeast);
        yield return Hypotheses.Composition(a, "kcomp", "", CompositionKind.K, new HeadId(0, 1), new HeadId(1, 0), 0.2, Bound.AtLeast, false);
        yield return Hypotheses.Composition(a, "vcomp", "", CompositionKind.V, new HeadId(0, 0), new HeadId(1, 1), 1.5, Bound.AtLeast, true);
        yield return Hypotheses.Ablation(a, "ablate", "", new HeadId(1, 0), Tokens, 0.01, Bound.AtLeast);
        yield return Hypotheses.Faithfulness(a, "faithful", "", [new HeadId(0, 1), new HeadId(1, 0)], Tokens, 0.5, Bound.AtLeast);
    }

    private static List<Check> Build()
    {
        var checks = Evidence(new ModelAnalysis(Model())).Select((e, i) =>
            new Check("hypothesis " + e.Hypothesis, a => Bits(Evidence(a).ElementAt(i)))).ToList();
        checks.Add(new("forward", a => Bits(a.Model.Forward(Tokens))));
        checks.Add(new("forward with cache", a => Bits(a.Model.RunWithCache(Tokens).Cache[HookNames.Pattern(1)])));
        checks.Add(new("per-token loss, 0.2 zero-ablated", a => Bits(Ablation.PerTokenLoss(a.Model, Tokens,
            Ablation.Hooks(a.Config, [new HeadId(0, 2)], AblationKind.Zero)))));
        checks.Add(new("fraction of loss recovered", a =>
        {
            var r = Ablation.FractionOfLossRecovered(a.Model, Tokens, [new HeadId(1, 1)]);
            return [.. new[] { r.Full, r.Circuit, r.AblateAll, r.Fraction }.Select(BitConverter.DoubleToInt64Bits)];
        }));
        checks.Add(new("composition table", a => [.. a.Composition.Entries().Select(e => BitConverter.DoubleToInt64Bits(e.Score))]));
        return checks;
    }

    private static long[] Bits(Evidence e) =>
        [BitConverter.DoubleToInt64Bits(e.Measured), (long)e.Verdict, e.Detail.GetHashCode(StringComparison.Ordinal),
            .. e.Data.SelectMany(Bits)];

    private static long[] Bits(EvidenceData data) => data switch
    {
        AttentionPatternData p => Bits(p.Pattern),
        EigenvaluesData v => Bits(v.Eigenvalues.SelectMany(z => new[] { z.Real, z.Imaginary })),
        CompositionData c => Bits([c.Q, c.K, c.V, c.RandomBaseline]),
        LossChangeData l => Bits(l.PerToken),
        FaithfulnessData f => Bits([f.FullLoss, f.CircuitLoss, f.AblatedLoss]),
        _ => throw new ArgumentOutOfRangeException(nameof(data), data.GetType().Name, "No hypothesis here gives this kind of data."),
    };

    private static long[] Bits(IEnumerable<double> values) => [.. values.Select(BitConverter.DoubleToInt64Bits)];

    private static long[] Bits(Tensor t) => [.. t.Span.ToArray().Select(v => (long)BitConverter.SingleToInt32Bits(v))];
}
