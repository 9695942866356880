using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Cli;

/// <summary>
/// Compiles the forward pass's vector code before a command first needs it. Code written for 512-bit vectors (the GEMM's
/// kernels, System.Numerics.Tensors' <c>Vector512</c> loops) is never compiled ahead of time — ReadyToRun code keeps to a
/// baseline instruction set — so a cold process compiles it on the thread that first runs it, in the middle of the
/// work. Started while that thread loads a model, a tiny model's scan, loss and transposed product compile the same
/// code on a core the loading leaves idle. GPT-2 small, cold, alternating (n = 3): <c>loss --text</c> 0.71–0.80 → 0.65–0.67 s,
/// <c>paths --order 1</c> 1.46–1.51 → 1.37–1.43 s; outputs byte-identical.
/// </summary>
internal static class Warmup
{
    /// <summary>The warm-up, started once per process (a command that loads several folders compiles the code once).</summary>
    private static readonly Lazy<Task> Started = new(() => Task.Run(Run));

    /// <summary>
    /// Starts the warm-up on the thread pool, the first time only. The task completes when it is done; a failure there
    /// only leaves the code to be compiled when it is first used.
    /// </summary>
    public static Task Start() => Started.Value;

    private static void Run()
    {
        // GPT-2's kinds of layer (LayerNorm, GELU MLP) and products (a tied unembedding is multiplied transposed), wide
        // enough that every vector loop takes its 512-bit path and small enough to take milliseconds.
        var config = new ModelConfig
        {
            NLayers = 1, NHeads = 2, DModel = 64, DHead = 32, DVocab = 96, NCtx = 32, DMlp = 128,
            ActFn = ActivationFunction.GeluNew, NormalizationType = Normalization.LN,
        };
        var weights = TransformerWeights.Zeros(config);
        int[][] tokens = [[.. Enumerable.Range(0, config.NCtx)]];
        ModelAnalysis.FindNonFinite(weights);
        Losses.NextTokenCrossEntropy(new HookedTransformer(weights), tokens);
        Gemm.MatMul(new Tensor(config.NCtx, config.DModel), weights.W_E, transB: true);
    }
}
