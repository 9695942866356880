using CircuitDsl.Tasks;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Tests.Tensors;
using CircuitDsl.Training;

namespace CircuitDsl.Tests.Training;

/// <summary>Which matrix-multiply backend training runs on; these replace the global backends, so they run alone.</summary>
[Collection(nameof(GemmBackendSwap))]
public sealed class TrainerBackendTests
{
    private static readonly ModelConfig Small = new()
    {
        NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 16, NCtx = 8, AttnOnly = true, NormalizationType = Normalization.LN,
    };

    [Theory]
    [InlineData(2, "serial")]
    [InlineData(1, "backend")]
    public void Several_workers_multiply_on_the_serial_kernel_and_one_worker_on_the_backend(int workers, string expected)
    {
        var options = new TrainingOptions { Task = new RepeatedTokensTask(Small.DVocab), Steps = 2, BatchSize = 4, WarmupSteps = 1, Seed = 1, Workers = workers };
        var backend = new CountingBackend();
        var serial = new CountingBackend();
        var recorded = WithBackends(backend, serial, () => Trainer.Train(Small, options));

        (expected == "serial" ? serial : backend).Calls.Should().BePositive();
        (expected == "serial" ? backend : serial).Calls.Should().Be(0);
        // The counters multiply on the one-thread managed kernel, so the weights match a run on it without them.
        var plain = new ManagedGemm(ManagedGemmKernel.Auto, threads: 1);
        TrainerTests.Bytes(recorded).Should().Equal(TrainerTests.Bytes(WithBackends(plain, plain, () => Trainer.Train(Small, options))));
    }

    private static T WithBackends<T>(IGemmBackend backend, IGemmBackend serial, Func<T> run)
    {
        var (previousBackend, previousSerial) = (Gemm.Backend, Gemm.Serial);
        try
        {
            Gemm.Backend = backend;
            Gemm.Serial = serial;
            return run();
        }
        finally
        {
            (Gemm.Backend, Gemm.Serial) = (previousBackend, previousSerial);
        }
    }

    private sealed class CountingBackend : IGemmBackend
    {
        private readonly ManagedGemm _kernel = new(ManagedGemmKernel.Auto, threads: 1);
        private int _calls;

        public int Calls => _calls;

        public string Name => "counting";

        public void Sgemm(
            bool transA, bool transB, int m, int n, int k, float alpha,
            ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
            float beta, Span<float> c, int ldc)
        {
            Interlocked.Increment(ref _calls);
            _kernel.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }
}
