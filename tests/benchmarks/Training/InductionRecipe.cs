#:project ../../../src/CircuitDsl/CircuitDsl.csproj
#:property TargetFramework=net10.0
#:property PublishAot=false

// Trains the default 2-layer attention-only model on `repeated-tokens` with the recommended recipe and
// reports, as it goes, the loss, the speed, the best layer-0 previous-token and layer-1 induction scores
// (the detector of docs/math.md on the default detection batch) and the loss on the first vs the repeated half.
// Not part of `dotnet test` (it takes a minute or two). Run from the repository root:
//   dotnet run tests/benchmarks/Training/InductionRecipe.cs -- [steps] [seed] [batch] [lr] [norm: LN (default) | none]
// Compare with tests/CircuitDsl.Tests/Fixtures/Training/train_reference.py, which trains the same model on the
// same kind of data with the same hyperparameters in PyTorch.
using System.Globalization;
using CircuitDsl;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Training;

var inv = CultureInfo.InvariantCulture;
var steps = args.Length > 0 ? int.Parse(args[0], inv) : 0;
var seed = args.Length > 1 ? int.Parse(args[1], inv) : 0;
var config = new ModelConfig
{
    NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true,
    NormalizationType = args.Length <= 4 ? Normalization.LN
        : args[4] == "none" ? Normalization.None
        : ConfigNames.TryParse(args[4], out Normalization norm) ? norm
        : throw new ArgumentException($"norm must be {ConfigNames.Choices<Normalization>(none: "none")}, not {args[4]}."),
};
var options = TrainingOptions.Recommended("repeated-tokens", config, seed);
options = options with
{
    Steps = steps > 0 ? steps : options.Steps,
    BatchSize = args.Length > 2 ? int.Parse(args[2], inv) : options.BatchSize,
    LearningRate = args.Length > 3 ? float.Parse(args[3], inv) : options.LearningRate,
    ProgressEvery = 100,
    CheckpointEvery = 250,
};

// The default detection batch (docs/math.md): h + h with h = (n_ctx − 1) / 2 distinct random tokens, seeded.
var half = (config.NCtx - 1) / 2;
var detRng = new Random(2024);
var detection = Enumerable.Range(0, 32).Select(_ =>
{
    var h = Enumerable.Range(0, config.DVocab).OrderBy(_ => detRng.Next()).Take(half).ToArray();
    return h.Concat(h).ToArray();
}).ToArray();
var pass = new TrainingPass(config);

string Measure(TransformerWeights w)
{
    var total = pass.Forward(w, detection);
    var prev = Scores(pass.Pattern(0), detection, PreviousToken);
    var ind = Scores(pass.Pattern(1), detection, Induction);
    var prefix = pass.Forward(w, detection.Select(s => s[..(half + 1)]).ToArray());
    var first = pass.Forward(w, detection.Select(s => s[..half]).ToArray());
    var n = detection.Length;
    var firstHalf = first / (n * (half - 1));
    var repeatedHalf = (total - prefix) / (n * (half - 1));
    return string.Format(inv, "prev-token L0 max {0:F3} [{1}]  induction L1 max {2:F3} [{3}]  loss first half {4:F3}  repeated half {5:F3}",
        prev.Max(), string.Join(" ", prev.Select(x => x.ToString("F2", inv))), ind.Max(),
        string.Join(" ", ind.Select(x => x.ToString("F2", inv))), firstHalf, repeatedHalf);
}

Console.WriteLine($"gemm backend: {Gemm.Backend.Name}; config: 2L 4H d64 vocab {config.DVocab} ctx {config.NCtx} norm {config.NormalizationType.ToConfigValue() ?? "none"}; " +
    $"steps {options.Steps}, batch {options.BatchSize}, lr {options.LearningRate}, warm-up {options.WarmupSteps}, {options.Schedule}, wd {options.WeightDecay}, clip {options.GradientClip}, seed {seed}, workers {options.Workers}");
var clock = System.Diagnostics.Stopwatch.StartNew();
var measureTime = TimeSpan.Zero;
options = options with
{
    Checkpoint = c =>
    {
        var t0 = clock.Elapsed;
        Console.WriteLine(string.Format(inv, "  step {0,5}  {1}", c.Step, Measure(c.Weights)));
        measureTime += clock.Elapsed - t0;
    },
};
var weights = Trainer.Train(config, options, new Reporter(p =>
    Console.WriteLine(string.Format(inv, "step {0,5}  loss {1:F4}  lr {2:E2}  |g| {3:F3}  {4:F0} tok/s  {5:F1} s",
        p.Step, p.AverageLoss, p.LearningRate, p.GradientNorm, p.TokensPerSecond, p.Elapsed.TotalSeconds))));
var trainSeconds = (clock.Elapsed - measureTime).TotalSeconds;
Console.WriteLine(string.Format(inv, "final: {0}", Measure(weights)));
Console.WriteLine(string.Format(inv, "training wall time {0:F1} s (excluding {1:F1} s of measurement)", trainSeconds, measureTime.TotalSeconds));

// The detection score (docs/math.md): mean over query rows with a target of the attention mass on the targets,
// then the mean over sequences; one score per head.
static double[] Scores(Tensor patterns, int[][] tokens, Func<int[], int, int, bool> target)
{
    int batch = patterns.Dim(0), heads = patterns.Dim(1), t = patterns.Dim(2);
    var scores = new double[heads];
    for (var b = 0; b < batch; b++)
    {
        for (var h = 0; h < heads; h++)
        {
            double sum = 0;
            var rows = 0;
            for (var i = 0; i < t; i++)
            {
                double mass = 0;
                var any = false;
                for (var j = 0; j <= i; j++)
                {
                    if (target(tokens[b], i, j))
                    {
                        any = true;
                        mass += patterns[b][h][i, j];
                    }
                }

                if (any)
                {
                    sum += mass;
                    rows++;
                }
            }

            scores[h] += rows == 0 ? 0 : sum / rows / batch;
        }
    }

    return scores;
}

static bool PreviousToken(int[] s, int i, int j) => j == i - 1;

static bool Induction(int[] s, int i, int j) => j >= 1 && s[j - 1] == s[i];

sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
