using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CircuitDsl.Tensors;

/// <summary>The register-blocked micro-kernel family a <see cref="ManagedGemm"/> runs.</summary>
public enum ManagedGemmKernel
{
    /// <summary>The widest family the processor accelerates: <see cref="Vector512"/>, else <see cref="Vector256"/>, else <see cref="Scalar"/>.</summary>
    Auto,

    /// <summary>512-bit vectors (AVX-512): 8 × 32 tiles, 12 × 16 tiles when <c>n</c> ≤ 16.</summary>
    Vector512,

    /// <summary>256-bit vectors (AVX2, or two NEON registers): 6 × 16 tiles.</summary>
    Vector256,

    /// <summary>Plain scalar code: 4 × 4 tiles. Portable everywhere; the reference for the vector kernels.</summary>
    Scalar,
}

/// <summary>
/// SGEMM in C#: the fallback when no native BLAS is present. A blocked kernel in the Goto/BLIS style: op(B) is
/// packed into <c>kc × NR</c> column panels, op(A) (scaled by alpha) into <c>MR × kc</c> row panels, and a
/// register-blocked micro-kernel multiplies one panel pair into an <c>MR × NR</c> tile of C. Large problems
/// are split into tiles of C that run in parallel.
/// </summary>
public sealed unsafe class ManagedGemm : IGemmBackend
{
    /// <summary>
    /// Depth of a packed block: one kc × NR panel of B (24 KB for 8 × 32 tiles) stays in L1 while A's panels
    /// stream past it. 192 measured a little faster than 128 or 256 on a Zen 4 core.
    /// </summary>
    private const int BlockDepth = 192;

    /// <summary>Rows of C per parallel tile (rounded down to a multiple of MR): its A block stays in L2.</summary>
    private const int BlockRows = 128;

    /// <summary>Most columns of C per parallel tile (rounded down to a multiple of NR).</summary>
    private const int BlockCols = 512;

    /// <summary>
    /// Column strips (of NR) up to which a 256-bit or scalar tile reads A in place instead of packing it; the 512-bit
    /// kernels always read it in place (<see cref="MicroKernel.DirectStrips"/>).
    /// </summary>
    private const int DirectStrips = 4;

    /// <summary>
    /// Most floats of op(B) packed at once (16 MB): a larger B is packed and multiplied a slab at a time (column tiles,
    /// and for a deep product depth blocks too), so multiplying by GPT-2's unembedding (768 × 50,257), or by its
    /// transpose, holds 16 MB of packed panels, not a 154 MB copy. The sums are the same either way: a slab changes
    /// where a panel is stored, not what is added to C in which order.
    /// </summary>
    private const long MaxPackedB = 1L << 22;

    /// <summary>Multiply-adds (m·n·k) below which one thread does the whole product.</summary>
    private const long ParallelThreshold = 1L << 21;

    private readonly MicroKernel _wide;
    private readonly MicroKernel? _narrow;

    /// <summary>The fastest kernel the processor accelerates, on every core.</summary>
    public ManagedGemm()
        : this(ManagedGemmKernel.Auto)
    {
    }

    /// <summary>A given kernel family on at most <paramref name="threads"/> threads (0: every core).</summary>
    /// <remarks>A vector family the processor does not accelerate still computes correctly, only slowly.</remarks>
    public ManagedGemm(ManagedGemmKernel kernel, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        Kernel = kernel switch
        {
            ManagedGemmKernel.Auto when System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated => ManagedGemmKernel.Vector512,
            ManagedGemmKernel.Auto when System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated => ManagedGemmKernel.Vector256,
            ManagedGemmKernel.Auto => ManagedGemmKernel.Scalar,
            ManagedGemmKernel.Vector512 or ManagedGemmKernel.Vector256 or ManagedGemmKernel.Scalar => kernel,
            _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Unknown managed GEMM kernel."),
        };
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        (_wide, _narrow) = Kernel switch
        {
            ManagedGemmKernel.Vector512 => (new MicroKernel(8, 32, int.MaxValue, &Kernel512x8x32), new MicroKernel(12, 16, int.MaxValue, &Kernel512x12x16)),
            ManagedGemmKernel.Vector256 => (new MicroKernel(6, 16, DirectStrips, &Kernel256x6x16), (MicroKernel?)null),
            _ => (new MicroKernel(4, 4, DirectStrips, &KernelScalar4x4), null),
        };
    }

    /// <summary>The kernel family in use (never <see cref="ManagedGemmKernel.Auto"/>).</summary>
    public ManagedGemmKernel Kernel { get; }

    /// <summary>The most threads one product uses.</summary>
    public int Threads { get; }

    /// <inheritdoc />
    public string Name => "managed";

    /// <inheritdoc />
    public string Description => $"managed ({Kernel}, {Threads} thread{(Threads == 1 ? "" : "s")})";

    /// <inheritdoc />
    public void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Gemm.CheckArguments(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                ScaleC(pc, ldc, m, n, beta);
                return;
            }

            if (Kernel == ManagedGemmKernel.Vector512 && m == 1 && (long)n * k < ParallelThreshold)
            {
                RowTimesMatrix(n, k, alpha, pa, transA ? lda : 1, transB, pb, ldb, beta, pc);
                return;
            }

            var kernel = _narrow is { } narrow && n <= narrow.NR ? narrow : _wide;
            new Product(kernel, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, Threads).Run();
        }
    }

    /// <summary>
    /// C = alpha · a · op(B) + beta · C for a single row a of k elements, with the 512-bit kernels' arithmetic but no
    /// tiles: each element's products fused-added in order of depth, a block of <see cref="BlockDepth"/> at a time, each
    /// block's sum scaled by alpha and fused into C. Those are the floats a row of a larger product gets in a whole
    /// tile, so one query row attends exactly as it does inside its sequence's pass (activation patching's metric
    /// relies on that). Through the tiles, packing B and setting up dominated a product this small (one query row
    /// against a sequence's keys, <see cref="Model.ForwardKernels.AttentionRow"/>): 1 × 64 × 64 ran at 3 GFLOP/s.
    /// </summary>
    private static void RowTimesMatrix(int n, int k, float alpha, float* a, long strideA, bool transB, float* b, int ldb, float beta, float* c)
    {
        for (var p0 = 0; p0 < k; p0 += BlockDepth)
        {
            var kc = Math.Min(BlockDepth, k - p0);
            var (first, blockBeta) = (p0 == 0, p0 == 0 ? beta : 1f);
            var j = 0;
            if (!transB)
            {
                // Sixteen elements of C at a time, as the kernels' lanes: B's rows are contiguous along C.
                var (va, vb) = (Vector512.Create(alpha), Vector512.Create(blockBeta));
                for (; j + 16 <= n; j += 16)
                {
                    var acc = Vector512<float>.Zero;
                    for (var p = p0; p < p0 + kc; p++)
                    {
                        acc = Vector512.FusedMultiplyAdd(Vector512.Create(a[p * strideA]), Vector512.Load(b + ((long)p * ldb) + j), acc);
                    }

                    Update512(c + j, acc, va, vb, first && beta == 0f);
                }
            }

            for (; j < n; j++)
            {
                // B transposed, or the last columns: one chain of fused multiply-adds per element of C.
                var acc = 0f;
                var stepB = transB ? 1L : ldb;
                var bj = transB ? b + ((long)j * ldb) : b + j;
                for (var p = p0; p < p0 + kc; p++)
                {
                    acc = MathF.FusedMultiplyAdd(a[p * strideA], bj[p * stepB], acc);
                }

                c[j] = first && beta == 0f ? acc * alpha : MathF.FusedMultiplyAdd(acc, alpha, c[j] * blockBeta);
            }
        }
    }

    /// <summary>C = beta · C, without reading C when beta is zero (BLAS's rule: C may hold NaN then).</summary>
    private static void ScaleC(float* c, int ldc, int m, int n, float beta)
    {
        for (var i = 0; i < m; i++)
        {
            var row = new Span<float>(c + ((long)i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    /// <summary>
    /// C[rows × cols] (row stride ldc) = acc + beta · C, or = acc when <paramref name="overwrite"/>; acc is a
    /// dense MR × NR tile. Used for the edge tiles that do not fill a whole micro-tile.
    /// </summary>
    private static void MergeEdge(float* acc, int nr, float* c, int ldc, int rows, int cols, float beta, bool overwrite)
    {
        for (var r = 0; r < rows; r++)
        {
            var src = acc + (r * nr);
            var dst = c + ((long)r * ldc);
            for (var j = 0; j < cols; j++)
            {
                dst[j] = overwrite ? src[j] : src[j] + (beta * dst[j]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update512(float* c, Vector512<float> acc, Vector512<float> alpha, Vector512<float> beta, bool overwrite)
    {
        if (overwrite)
        {
            (acc * alpha).Store(c);
        }
        else
        {
            Vector512.FusedMultiplyAdd(acc, alpha, Vector512.Load(c) * beta).Store(c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update256(float* c, Vector256<float> acc, Vector256<float> alpha, Vector256<float> beta, bool overwrite)
    {
        if (overwrite)
        {
            (acc * alpha).Store(c);
        }
        else
        {
            Vector256.FusedMultiplyAdd(acc, alpha, Vector256.Load(c) * beta).Store(c);
        }
    }

    /// <summary>An 8 × 32 tile with 16 zmm accumulators: per step 2 loads of B and 8 broadcasts of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x8x32(int kc, float* a, long rs, long cs, float* b, long bs, float* c, int ldc, int rows, int cols, float alpha, float beta, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[rs]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2 * rs]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3 * rs]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4 * rs]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5 * rs]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6 * rs]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7 * rs]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            a += cs;
            b += bs;
        }

        var full = rows == 8 && cols == 32;
        var tile = stackalloc float[full ? 0 : 8 * 32];
        var dst = full ? c : tile;
        long ld = full ? ldc : 32;
        var store = !full || overwrite;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Update512(dst, c00, va, vb, store);
        Update512(dst + 16, c01, va, vb, store);
        Update512(dst + ld, c10, va, vb, store);
        Update512(dst + ld + 16, c11, va, vb, store);
        Update512(dst + (2 * ld), c20, va, vb, store);
        Update512(dst + (2 * ld) + 16, c21, va, vb, store);
        Update512(dst + (3 * ld), c30, va, vb, store);
        Update512(dst + (3 * ld) + 16, c31, va, vb, store);
        Update512(dst + (4 * ld), c40, va, vb, store);
        Update512(dst + (4 * ld) + 16, c41, va, vb, store);
        Update512(dst + (5 * ld), c50, va, vb, store);
        Update512(dst + (5 * ld) + 16, c51, va, vb, store);
        Update512(dst + (6 * ld), c60, va, vb, store);
        Update512(dst + (6 * ld) + 16, c61, va, vb, store);
        Update512(dst + (7 * ld), c70, va, vb, store);
        Update512(dst + (7 * ld) + 16, c71, va, vb, store);
        if (!full)
        {
            MergeEdge(tile, 32, c, ldc, rows, cols, beta, overwrite);
        }
    }

    /// <summary>A 12 × 16 tile with 12 zmm accumulators, for products at most 16 columns wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x12x16(int kc, float* a, long rs, long cs, float* b, long bs, float* c, int ldc, int rows, int cols, float alpha, float beta, bool overwrite)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[rs]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2 * rs]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3 * rs]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4 * rs]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5 * rs]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6 * rs]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7 * rs]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[8 * rs]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[9 * rs]), b0, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[10 * rs]), b0, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[11 * rs]), b0, c11);
            a += cs;
            b += bs;
        }

        var full = rows == 12 && cols == 16;
        var tile = stackalloc float[full ? 0 : 12 * 16];
        var dst = full ? c : tile;
        long ld = full ? ldc : 16;
        var store = !full || overwrite;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Update512(dst, c0, va, vb, store);
        Update512(dst + ld, c1, va, vb, store);
        Update512(dst + (2 * ld), c2, va, vb, store);
        Update512(dst + (3 * ld), c3, va, vb, store);
        Update512(dst + (4 * ld), c4, va, vb, store);
        Update512(dst + (5 * ld), c5, va, vb, store);
        Update512(dst + (6 * ld), c6, va, vb, store);
        Update512(dst + (7 * ld), c7, va, vb, store);
        Update512(dst + (8 * ld), c8, va, vb, store);
        Update512(dst + (9 * ld), c9, va, vb, store);
        Update512(dst + (10 * ld), c10, va, vb, store);
        Update512(dst + (11 * ld), c11, va, vb, store);
        if (!full)
        {
            MergeEdge(tile, 16, c, ldc, rows, cols, beta, overwrite);
        }
    }

    /// <summary>A 6 × 16 tile with 12 ymm accumulators: the classic AVX2 shape (16 registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256x6x16(int kc, float* a, long rs, long cs, float* b, long bs, float* c, int ldc, int rows, int cols, float alpha, float beta, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[rs]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2 * rs]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3 * rs]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4 * rs]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5 * rs]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            a += cs;
            b += bs;
        }

        var full = rows == 6 && cols == 16;
        var tile = stackalloc float[full ? 0 : 6 * 16];
        var dst = full ? c : tile;
        long ld = full ? ldc : 16;
        var store = !full || overwrite;
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Update256(dst, c00, va, vb, store);
        Update256(dst + 8, c01, va, vb, store);
        Update256(dst + ld, c10, va, vb, store);
        Update256(dst + ld + 8, c11, va, vb, store);
        Update256(dst + (2 * ld), c20, va, vb, store);
        Update256(dst + (2 * ld) + 8, c21, va, vb, store);
        Update256(dst + (3 * ld), c30, va, vb, store);
        Update256(dst + (3 * ld) + 8, c31, va, vb, store);
        Update256(dst + (4 * ld), c40, va, vb, store);
        Update256(dst + (4 * ld) + 8, c41, va, vb, store);
        Update256(dst + (5 * ld), c50, va, vb, store);
        Update256(dst + (5 * ld) + 8, c51, va, vb, store);
        if (!full)
        {
            MergeEdge(tile, 16, c, ldc, rows, cols, beta, overwrite);
        }
    }

    /// <summary>A 4 × 4 tile in 16 scalar accumulators.</summary>
    private static void KernelScalar4x4(int kc, float* a, long rs, long cs, float* b, long bs, float* c, int ldc, int rows, int cols, float alpha, float beta, bool overwrite)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0,
            c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (var p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            var ai = a[0];
            c00 += ai * b0;
            c01 += ai * b1;
            c02 += ai * b2;
            c03 += ai * b3;
            ai = a[rs];
            c10 += ai * b0;
            c11 += ai * b1;
            c12 += ai * b2;
            c13 += ai * b3;
            ai = a[2 * rs];
            c20 += ai * b0;
            c21 += ai * b1;
            c22 += ai * b2;
            c23 += ai * b3;
            ai = a[3 * rs];
            c30 += ai * b0;
            c31 += ai * b1;
            c32 += ai * b2;
            c33 += ai * b3;
            a += cs;
            b += bs;
        }

        var tile = stackalloc float[16]
        {
            c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33,
        };
        for (var i = 0; i < 16; i++)
        {
            tile[i] *= alpha;
        }

        MergeEdge(tile, 4, c, ldc, rows, cols, beta, overwrite);
    }

    /// <summary>A micro-kernel: <c>C[rows × cols] (=|+=) A-panel · B-panel</c> over <c>kc</c> steps.</summary>
    private sealed class MicroKernel(
        int mr, int nr, int directStrips, delegate*<int, float*, long, long, float*, long, float*, int, int, int, float, float, bool, void> run)
    {
        public int MR { get; } = mr;

        public int NR { get; } = nr;

        /// <summary>
        /// Column strips up to which a tile reads A in place. For the 512-bit kernels that is every width: on this
        /// project's Zen 4 machine reading A in place against packing it at any width measured 4096 × 512 × 512 at 384–394
        /// against 305–312 GFLOP/s, 4096 × 768 × 768 355–378 against 297, Aᵀ · B 512 × 512 × 4096 303–306 against
        /// 227–251, and no shape consistently slower (tests/benchmarks/README.md); the 256-bit kernel gained nothing consistent.
        /// </summary>
        public int DirectStrips { get; } = directStrips;

        public delegate*<int, float*, long, long, float*, long, float*, int, int, int, float, float, bool, void> Run { get; } = run;
    }

    /// <summary>One SGEMM call: the packed copy of op(B) (a slab of it at a time), the tiling of C, and the work on each tile.</summary>
    private sealed class Product
    {
        private readonly MicroKernel _kernel;
        private readonly bool _transA, _transB;
        private readonly int _m, _n, _k, _lda, _ldb, _ldc, _threads;
        private readonly float _alpha, _beta;
        private readonly float* _a, _b, _c;
        private readonly int _mc, _nc, _nPadded, _tilesM, _tilesN, _slabTiles, _slabDepth;

        /// <summary>
        /// Whether the micro-kernel reads B's full column strips in place (rows <c>ldb</c> apart) instead of packed.
        /// Packing pays off when several row tiles reuse a panel; a product of one row tile (at most
        /// <see cref="BlockRows"/> rows: a short prompt's layers) would copy every weight once to read it once.
        /// </summary>
        private readonly bool _directB;

        /// <summary>The first column, the padded width and the first depth of the slab of op(B) packed now.</summary>
        private int _slab0, _slabPadded, _depth0;

        public Product(
            MicroKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha,
            float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
        {
            _kernel = kernel;
            _transA = transA;
            _transB = transB;
            _m = m;
            _n = n;
            _k = k;
            _alpha = alpha;
            _a = a;
            _lda = lda;
            _b = b;
            _ldb = ldb;
            _beta = beta;
            _c = c;
            _ldc = ldc;
            int mr = kernel.MR, nr = kernel.NR;
            _threads = (long)m * n * k < ParallelThreshold ? 1 : threads;
            _mc = Math.Max(1, BlockRows / mr) * mr;
            _nPadded = (n + nr - 1) / nr * nr;
            _tilesM = (m + _mc - 1) / _mc;
            _directB = !transB && _tilesM == 1;

            // Narrow the column tiles until there are a few tiles per thread, so both cores stay busy.
            _nc = Math.Min(Math.Max(1, BlockCols / nr) * nr, _nPadded);
            while (_threads > 1 && _nc > 4 * nr && _tilesM * ((n + _nc - 1) / _nc) < 4 * _threads)
            {
                _nc = Math.Max(4 * nr, _nc / 2 / nr * nr);
            }

            _tilesN = (n + _nc - 1) / _nc;
            _slabTiles = (int)Math.Clamp(MaxPackedB / ((long)k * _nc), 1, _tilesN);
            _slabDepth = (int)Math.Clamp(MaxPackedB / ((long)_slabTiles * _nc) / BlockDepth, 1, (k + BlockDepth - 1) / BlockDepth) * BlockDepth;
        }

        public void Run()
        {
            var slabWidth = Math.Min(_nPadded, _slabTiles * _nc);
            var packedB = ArrayPool<float>.Shared.Rent(checked(Math.Min(_k, _slabDepth) * slabWidth));
            try
            {
                fixed (float* bp = packedB)
                {
                    var bPacked = bp;
                    for (var first = 0; first < _tilesN; first += _slabTiles)
                    {
                        var tiles = Math.Min(_slabTiles, _tilesN - first);
                        _slab0 = first * _nc;
                        _slabPadded = Math.Min(_nPadded - _slab0, tiles * _nc);
                        for (_depth0 = 0; _depth0 < _k; _depth0 += _slabDepth)
                        {
                            var depthEnd = Math.Min(_k, _depth0 + _slabDepth);
                            var kBlocks = (depthEnd - _depth0 + BlockDepth - 1) / BlockDepth;
                            For(kBlocks * tiles, t => PackB(bPacked, (_depth0 / BlockDepth) + (t / tiles), first + (t % tiles)));
                            For(_tilesM * tiles, t => ComputeTile(bPacked, t / tiles, first + (t % tiles), depthEnd));
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(packedB);
            }
        }

        private void For(int count, Action<int> body)
        {
            if (_threads == 1 || count == 1)
            {
                for (var t = 0; t < count; t++)
                {
                    body(t);
                }
            }
            else
            {
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _threads }, body);
            }
        }

        /// <summary>Packs the column strips of one (depth block, column tile) of op(B) into kc × NR panels.</summary>
        private void PackB(float* packed, int kBlock, int tileN)
        {
            var nr = _kernel.NR;
            var p0 = kBlock * BlockDepth;
            var kc = Math.Min(BlockDepth, _k - p0);
            var j0 = tileN * _nc;
            var jEnd = Math.Min(_n, j0 + _nc);
            for (var j = j0; j < jEnd; j += nr)
            {
                var cols = Math.Min(nr, _n - j);
                if (_directB && cols == nr)
                {
                    continue;
                }

                var dst = packed + ((long)(p0 - _depth0) * _slabPadded) + ((long)(j - _slab0) * kc);
                if (!_transB)
                {
                    for (var p = 0; p < kc; p++)
                    {
                        var src = _b + ((long)(p0 + p) * _ldb) + j;
                        var row = new Span<float>(dst + ((long)p * nr), nr);
                        new ReadOnlySpan<float>(src, cols).CopyTo(row);
                        row[cols..].Clear();
                    }
                }
                else if (Avx.IsSupported && cols == nr && nr % 8 == 0)
                {
                    // B's rows are the panel's columns: 8 × 8 blocks transposed in registers, the depth left over one by one.
                    var p = 0;
                    for (; p + 8 <= kc; p += 8)
                    {
                        for (var jj = 0; jj < nr; jj += 8)
                        {
                            Tensor.Transpose8x8(_b + ((long)(j + jj) * _ldb) + p0 + p, _ldb, dst + ((long)p * nr) + jj, nr);
                        }
                    }

                    for (; p < kc; p++)
                    {
                        for (var jj = 0; jj < nr; jj++)
                        {
                            dst[(p * nr) + jj] = _b[((long)(j + jj) * _ldb) + p0 + p];
                        }
                    }
                }
                else
                {
                    for (var jj = 0; jj < nr; jj++)
                    {
                        if (jj >= cols)
                        {
                            for (var p = 0; p < kc; p++)
                            {
                                dst[(p * nr) + jj] = 0f;
                            }

                            continue;
                        }

                        var src = _b + ((long)(j + jj) * _ldb) + p0;
                        for (var p = 0; p < kc; p++)
                        {
                            dst[(p * nr) + jj] = src[p];
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Packs rows [i0 + fromRow, i0 + rows) × depth [p0, p0 + kc) of scale · op(A) into MR × kc panels, the
        /// last one padded with zero rows; <paramref name="fromRow"/> is a multiple of MR.
        /// </summary>
        private void PackA(float* packed, int i0, int fromRow, int rows, int p0, int kc, float scale)
        {
            var mr = _kernel.MR;
            for (var ir = fromRow; ir < rows; ir += mr)
            {
                var height = Math.Min(mr, rows - ir);
                var dst = packed + ((long)ir * kc);
                if (!_transA)
                {
                    for (var r = 0; r < height; r++)
                    {
                        var src = _a + ((long)(i0 + ir + r) * _lda) + p0;
                        for (var p = 0; p < kc; p++)
                        {
                            dst[(p * mr) + r] = scale * src[p];
                        }
                    }
                }
                else
                {
                    for (var p = 0; p < kc; p++)
                    {
                        var src = _a + ((long)(p0 + p) * _lda) + i0 + ir;
                        for (var r = 0; r < height; r++)
                        {
                            dst[(p * mr) + r] = scale * src[r];
                        }
                    }
                }

                for (var r = height; r < mr; r++)
                {
                    for (var p = 0; p < kc; p++)
                    {
                        dst[(p * mr) + r] = 0f;
                    }
                }
            }
        }

        /// <summary>
        /// One tile of C over the depth blocks of the slab packed now (up to <paramref name="depthEnd"/>): for each, pack
        /// A's rows, then run the micro-kernel over the tile.
        /// </summary>
        private void ComputeTile(float* packedB, int tileM, int tileN, int depthEnd)
        {
            int mr = _kernel.MR, nr = _kernel.NR;
            var i0 = tileM * _mc;
            var rows = Math.Min(_mc, _m - i0);
            var j0 = tileN * _nc;
            var jEnd = Math.Min(_n, j0 + _nc);
            var rowsPadded = (rows + mr - 1) / mr * mr;
            var packedA = ArrayPool<float>.Shared.Rent(rowsPadded * BlockDepth);
            try
            {
                fixed (float* ap = packedA)
                {
                    // Packing A pays off when many column strips reuse it, for the narrower kernels. Otherwise the
                    // micro-kernel reads whole row panels of A in place (with strides) and applies alpha itself;
                    // only a ragged last panel is packed, because packing pads it with zero rows.
                    var direct = jEnd - j0 <= (long)_kernel.DirectStrips * nr;
                    var fullRows = direct ? rows / mr * mr : 0;
                    long rsA = _transA ? 1 : _lda, csA = _transA ? _lda : 1;
                    for (var p0 = _depth0; p0 < depthEnd; p0 += BlockDepth)
                    {
                        var kc = Math.Min(BlockDepth, _k - p0);
                        PackA(ap, i0, fullRows, rows, p0, kc, direct ? 1f : _alpha);
                        var first = p0 == 0;
                        var beta = first ? _beta : 1f;
                        var overwrite = first && _beta == 0f;
                        for (var j = j0; j < jEnd; j += nr)
                        {
                            var cols = Math.Min(nr, _n - j);
                            var inPlace = _directB && cols == nr;
                            var bPanel = inPlace
                                ? _b + ((long)p0 * _ldb) + j
                                : packedB + ((long)(p0 - _depth0) * _slabPadded) + ((long)(j - _slab0) * kc);
                            long bs = inPlace ? _ldb : nr;
                            for (var ir = 0; ir < rows; ir += mr)
                            {
                                var c = _c + ((long)(i0 + ir) * _ldc) + j;
                                var height = Math.Min(mr, rows - ir);
                                if (ir < fullRows)
                                {
                                    var a = _a + ((i0 + ir) * rsA) + (p0 * csA);
                                    _kernel.Run(kc, a, rsA, csA, bPanel, bs, c, _ldc, height, cols, _alpha, beta, overwrite);
                                }
                                else
                                {
                                    _kernel.Run(kc, ap + ((long)ir * kc), 1, mr, bPanel, bs, c, _ldc, height, cols, direct ? _alpha : 1f, beta, overwrite);
                                }
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(packedA);
            }
        }
    }
}
