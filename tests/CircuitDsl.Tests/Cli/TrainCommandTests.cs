using CircuitDsl.Tasks;
using CircuitDsl.Model;
using CircuitDsl.Training;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Cli;

public sealed class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("train-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Train_writes_a_model_folder_that_has_learned_the_task()
    {
        var outDir = Path.Combine(_dir, "bigram");

        var (code, stdout, stderr) = CliRunner.Run("train", "--layers", "0", "--vocab", "12", "--context", "16", "--d-model", "16",
            "--normalization", "none", "--task", "bigram", "--steps", "300", "--seed", "3", "--out", outDir);

        code.Should().Be(0, stderr);
        stdout.Should().Contain("step 300/300").And.Contain($"wrote {outDir}");
        using var folder = ModelFolder.Load(outDir);
        folder.Config.NLayers.Should().Be(0);
        folder.Config.Seed.Should().Be(3);
        // The chain's own samples: a trained bigram model must beat the uniform guess ln 12 ≈ 2.48 clearly.
        var task = (BigramTask)TrainingTask.Create("bigram", 12, 3);
        var rng = new Random(99);
        var tokens = Enumerable.Range(0, 16).Select(_ => task.Sample(rng, 16)).ToArray();
        var loss = Losses.NextTokenCrossEntropy(new HookedTransformer(folder.Weights).Forward(tokens), tokens);
        loss.Should().BeLessThan(Math.Log(12) - 0.5);
    }

    [Fact]
    public void A_model_trained_with_an_mlp_loads_into_a_spec_that_states_only_its_sizes()
    {
        var outDir = Path.Combine(_dir, "mlp");
        var (code, _, stderr) = CliRunner.Run("train", "--layers", "1", "--heads", "2", "--d-model", "8", "--d-head", "4", "--vocab", "10",
            "--context", "8", "--d-mlp", "16", "--task", "bigram", "--steps", "1", "--out", outDir);
        code.Should().Be(0, stderr);

        // What the generator declares for [Transformer(NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, DMlp = 16)].
        var attribute = new TransformerAttribute { NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, DMlp = 16 };
        var declared = new ModelConfig
        {
            NLayers = attribute.NLayers, NHeads = attribute.NHeads, DModel = attribute.DModel, DHead = attribute.DHead,
            DVocab = attribute.DVocab, NCtx = attribute.NCtx, DMlp = attribute.DMlp, AttnOnly = attribute.AttnOnly,
            ActFn = attribute.ActFn, NormalizationType = attribute.NormalizationType, PositionalEmbeddingType = attribute.PositionalEmbeddingType,
        };
        using var folder = ModelFolder.Load(outDir);
        folder.Config.DescribeMismatch(declared, "Mlp1L").Should().BeNull();
    }

    [Fact]
    public void The_same_seed_writes_the_same_bytes()
    {
        string Train(string name)
        {
            var outDir = Path.Combine(_dir, name);
            CliRunner.Run("train", "--layers", "1", "--heads", "2", "--d-model", "8", "--d-head", "4", "--vocab", "10", "--context", "8",
                "--task", "repeated-tokens", "--steps", "20", "--seed", "7", "--out", outDir).Code.Should().Be(0);
            return outDir;
        }

        var a = File.ReadAllBytes(Path.Combine(Train("a"), ModelFolder.SafetensorsFileName));
        var b = File.ReadAllBytes(Path.Combine(Train("b"), ModelFolder.SafetensorsFileName));

        a.Should().Equal(b);
    }

    [Theory]
    [InlineData("--task", "sorting", "Unknown task 'sorting'")]
    [InlineData("--vocab", "0", "d_vocab must be positive (got 0).")]
    [InlineData("--normalization", "RMS", "--normalization must be LN, LNPre or none (got RMS).")]
    [InlineData("--act-fn", "swish", "--act-fn must be gelu, gelu_new or relu (got swish).")]
    [InlineData("--steps", "0", "steps must be positive (got 0).")]
    public void Impossible_requests_are_refused_with_the_reason(string option, string value, string reason)
    {
        var args = new List<string> { "train", "--task", "bigram", "--out", Path.Combine(_dir, "x") };
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, _, stderr) = CliRunner.Run([.. args]);

        code.Should().Be(2);
        stderr.Should().Contain(reason);
        Directory.Exists(Path.Combine(_dir, "x")).Should().BeFalse("nothing is written for a refused request");
    }
}
