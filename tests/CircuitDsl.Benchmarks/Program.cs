using System.Globalization;
using CircuitDsl;
using CircuitDsl.Benchmarks;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Training;
using CircuitDsl.Weights;

// Usage (tests/benchmarks/run.sh drives it):
//   prepare <dir>                       seeded weights and inputs both sides load
//   run <dir> [reps] [workload,...]     the workloads; RESULT lines
//   sgemm [reps]                        the SGEMM ceiling of each backend; RESULT lines
//   generator [reps]                    the source generator on a 50-spec project; RESULT and INFO lines
var inv = CultureInfo.InvariantCulture;
var command = args.Length > 0 ? args[0] : "";
Console.Error.WriteLine($"gemm: {Gemm.Describe()}");
switch (command)
{
    case "prepare":
        Prepare(args[1]);
        break;
    case "run":
        Run(args[1], args.Length > 2 ? int.Parse(args[2], inv) : 7, args.Length > 3 ? args[3].Split(',') : null);
        break;
    case "sgemm":
        Sgemm(args.Length > 1 ? int.Parse(args[1], inv) : 5);
        break;
    case "generator":
        GeneratorBenchmark.Run(args.Length > 1 ? int.Parse(args[1], inv) : 7);
        break;
    default:
        Console.Error.WriteLine("usage: prepare <dir> | run <dir> [reps] [workloads] | sgemm [reps] | generator [reps]");
        return 2;
}

return 0;

static void Prepare(string dir)
{
    Directory.CreateDirectory(dir);
    ModelFolder.Save(Path.Combine(dir, "attn2l"), Initialization.TransformerLensDefault(Shapes.AttnOnly2L, 11));
    ModelFolder.Save(Path.Combine(dir, "stack12"), Initialization.TransformerLensDefault(Shapes.Stack12, 12));

    // The training run's starting weights and every batch it will draw, exactly as Trainer draws them.
    var config = Shapes.Induction with { Seed = Shapes.TrainingSeed };
    var options = TrainingOptions.Recommended("repeated-tokens", config, Shapes.TrainingSeed);
    ModelFolder.Save(Path.Combine(dir, "train-init"), Initialization.TransformerLensDefault(config, options.Seed, options.InitializerRange));
    var dataRng = new Random(unchecked((options.Seed * 1_000_003) + 12_345));
    using (var batches = new BinaryWriter(File.Create(Path.Combine(dir, "train-batches.bin"))))
    {
        for (var i = 0; i < options.Steps * options.BatchSize; i++)
        {
            foreach (var t in options.Task.Sample(dataRng, config.NCtx))
            {
                batches.Write(t);
            }
        }
    }

    using var detection = new BinaryWriter(File.Create(Path.Combine(dir, "train-detection.bin")));
    foreach (var t in HeadDetector.DefaultBatch(config).SelectMany(s => s))
    {
        detection.Write(t);
    }
}

static void Run(string dir, int reps, string[]? only)
{
    bool Wanted(string name) => only is null || only.Contains(name);
    if (Wanted("forward") || Wanted("forward-cache") || Wanted("detection"))
    {
        using var folder = ModelFolder.Load(Path.Combine(dir, "attn2l"));
        var model = new HookedTransformer(folder.Weights);
        var tokens = Shapes.ForwardTokens();
        var flops = ForwardGflop(folder.Config, 4, 1024);
        if (Wanted("forward"))
        {
            Harness.Measure("forward", 1, reps, flops, () => model.Forward(tokens));
        }

        if (Wanted("forward-cache"))
        {
            Harness.Measure("forward-cache", 1, reps, flops, () => model.RunWithCache(tokens, _ => true));
        }

        if (Wanted("detection"))
        {
            var batch = Shapes.DetectionTokens();
            var blocks = ForwardGflop(folder.Config with { DVocab = 0 }, 8, 512);
            Harness.Measure("detection", 1, reps, blocks,
                () => _ = new ModelAnalysis(folder.Weights, WeightProcessingOptions.None, batch).Detectors);
        }
    }

    if (Wanted("composition") || Wanted("copying"))
    {
        using var folder = ModelFolder.Load(Path.Combine(dir, "stack12"));
        if (Wanted("composition"))
        {
            Harness.Measure("composition", 1, reps, 0, () => CompositionScores.Compute(folder.Weights));
        }

        if (Wanted("copying"))
        {
            var c = folder.Config;
            var gflop = ((2.0 * c.DModel * c.DModel * c.DVocab) + (c.NLayers * c.NHeads * 2.0 * c.DModel * c.DModel * c.DHead)) / 1e9;
            Harness.Measure("copying", 1, reps, gflop, () => CopyingScores.Compute(folder.Weights));
        }
    }

    if (Wanted("train-step"))
    {
        const int steps = 50;
        var config = Shapes.Induction;
        var options = TrainingOptions.Recommended("repeated-tokens", config, Shapes.TrainingSeed) with { Steps = steps, ProgressEvery = steps };
        var times = new double[reps];
        Trainer.Train(config, options);
        for (var i = 0; i < reps; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Trainer.Train(config, options);
            times[i] = clock.Elapsed.TotalSeconds / steps;
        }

        Harness.Report("train-step", times, 0);
    }

    if (Wanted("train-to-0.7"))
    {
        var config = Shapes.Induction;
        var options = TrainingOptions.Recommended("repeated-tokens", config, Shapes.TrainingSeed);
        var detection = HeadDetector.DefaultBatch(config);
        var runs = Math.Max(1, reps / 3);
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            using var stop = new CancellationTokenSource();
            var reached = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Trainer.Train(config, options with
            {
                CheckpointEvery = 50,
                ProgressEvery = options.Steps,
                Checkpoint = checkpoint =>
                {
                    if (BestInduction(checkpoint.Weights, detection) > 0.7)
                    {
                        reached = checkpoint.Step;
                        stop.Cancel();
                    }
                },
            }, cancellationToken: stop.Token);
            times[i] = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"INFO\ttrain-to-0.7\tsteps {(reached == 0 ? "never" : reached.ToString(CultureInfo.InvariantCulture))}");
        }

        Harness.Report("train-to-0.7", times, 0);
    }
}

// The matrix work this forward pass does: the score and pattern products skip what the causal mask hides, in
// blocks of 128 query rows (ForwardPass.RowBlock), so they do Σ (r0 + rows) · rows of the n² entries.
static double ForwardGflop(ModelConfig c, int batch, int positions)
{
    double rows = batch * positions, width = c.NHeads * c.DHead, causal = 0;
    for (var r0 = 0; r0 < positions; r0 += 128)
    {
        var block = Math.Min(128, positions - r0);
        causal += (double)(r0 + block) * block;
    }

    var perLayer = (2 * rows * c.DModel * width * 3) + (2.0 * 2 * batch * c.NHeads * causal * c.DHead) + (2 * rows * width * c.DModel);
    return ((c.NLayers * perLayer) + (2 * rows * c.DModel * c.DVocab)) / 1e9;
}

static double BestInduction(TransformerWeights weights, int[][] detection)
{
    var patterns = new List<Tensor>();
    var hooks = new HookSet();
    for (var l = 0; l < weights.Config.NLayers; l++)
    {
        hooks.Add(HookNames.Pattern(l), patterns.Add);
    }

    new HookedTransformer(weights).Forward(detection, hooks);
    var scores = HeadDetector.Compute(patterns, detection);
    var last = weights.Config.NLayers - 1;
    return Enumerable.Range(0, weights.Config.NHeads).Max(h => scores.Score(DetectorKind.Induction, new HeadId(last, h)));
}

static void Sgemm(int reps)
{
    var backends = new List<IGemmBackend> { new ManagedGemm() };
    if (OpenBlasGemm.IsAvailable)
    {
        backends.Add(new OpenBlasGemm());
    }

    (string Name, int M, int N, int K)[] shapes = [("square2048", 2048, 2048, 2048), ("unembed", 4096, 48262, 512)];
    var rng = new Random(5);
    foreach (var (name, m, n, k) in shapes)
    {
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = (float)rng.NextDouble() - 0.5f;
        }

        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (float)rng.NextDouble() - 0.5f;
        }

        foreach (var backend in backends)
        {
            Console.Error.WriteLine($"sgemm {name} on {backend.Description}");
            Harness.Measure($"sgemm-{name}-{backend.Name}", 1, reps, 2.0 * m * n * k / 1e9,
                () => backend.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n));
        }
    }
}
