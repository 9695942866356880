// Mistake: claiming that rotating the MLP neurons changes a model that has no MLPs
using CircuitDsl;
using CircuitDsl.Reports;

namespace Specs;

[Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
public sealed partial class Induction2L;

[Circuit(typeof(Induction2L))]
public static partial class Bases
{
    /// <summary>The neuron basis is privileged.</summary>
    [Rotated(Seed = 1, Neurons = /*!CDSL035: true*/true, AtLeast = 0.01)]
    public static partial Evidence NeuronsArePrivileged(Induction2L model);
}
