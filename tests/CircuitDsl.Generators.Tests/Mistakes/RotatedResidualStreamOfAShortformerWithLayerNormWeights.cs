// Mistake: claiming that a shortformer model with LayerNorm weights survives a rotation of its residual stream
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 1, NHeads = 1, DModel = 16, DHead = 8, DVocab = 20, NCtx = 8, DMlp = 64, ActFn = ActivationFunction.GeluNew,
             NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Shortformer)]
public sealed partial class Mlp1L;

[Circuit(typeof(Mlp1L))]
public static partial class Bases
{
    /// <summary>The residual stream has no privileged basis.</summary>
    [/*!CDSL036: Rotated*/Rotated(Seed = 1, AtMost = 1e-4)]
    public static partial Evidence ResidualStreamIsNotPrivileged(Mlp1L model);
}
