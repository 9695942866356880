using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// A TransformerLens-convention transformer: the forward pass of docs/math.md over <see cref="TransformerWeights"/>,
/// with TransformerLens's hook points (<see cref="HookNames"/>) for caching and intervening.
/// </summary>
/// <remarks>
/// The forward pass is written once, in <see cref="ForwardPass"/> and the <see cref="ForwardKernels"/> it runs (which
/// <see cref="Training.TrainingPass"/> runs too); generated models call the same pieces in an unrolled order. Instances are immutable and safe to use from several threads at once.
/// </remarks>
public sealed class HookedTransformer
{
    /// <summary>A transformer over <paramref name="weights"/> (not copied).</summary>
    public HookedTransformer(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Weights = weights;
    }

    /// <summary>The parameters.</summary>
    public TransformerWeights Weights { get; }

    /// <summary>The architecture.</summary>
    public ModelConfig Config => Weights.Config;

    /// <summary>The logits <c>[batch, pos, d_vocab]</c> for a batch of equal-length token sequences.</summary>
    /// <exception cref="ArgumentException">The tokens are empty, ragged, too long, or outside the vocabulary.</exception>
    public Tensor Forward(int[][] tokens, HookSet? hooks = null) => Run(tokens, hooks, cacheNames: null).Logits;

    /// <summary>
    /// The logits and the activations at every hook point <paramref name="names"/> accepts (all of them when null),
    /// after any <paramref name="hooks"/> have run there.
    /// </summary>
    public (Tensor Logits, ActivationCache Cache) RunWithCache(int[][] tokens, Func<string, bool>? names = null, HookSet? hooks = null) =>
        Run(tokens, hooks, names ?? (_ => true));

    /// <summary>Starts a forward pass; call <see cref="ForwardPass.Block"/> for each layer, then <see cref="ForwardPass.Unembed"/>.</summary>
    public ForwardPass Begin(int[][] tokens, HookSet? hooks = null, Func<string, bool>? cacheNames = null) =>
        new(Weights, tokens, hooks, cacheNames);

    /// <summary>
    /// Starts a forward pass at block <paramref name="layer"/> from the residual stream <paramref name="residual"/>
    /// <c>[batch, pos, d_model]</c> entering it, without tokens (a patching sweep's copies of a cached run), its tensors
    /// in <paramref name="arena"/>.
    /// </summary>
    internal ForwardPass BeginAt(int layer, Tensor residual, HookSet hooks, TensorArena arena) => new(Weights, layer, residual, hooks, arena);

    private (Tensor Logits, ActivationCache Cache) Run(int[][] tokens, HookSet? hooks, Func<string, bool>? cacheNames)
    {
        var pass = Begin(tokens, hooks, cacheNames);
        for (var layer = 0; layer < Config.NLayers; layer++)
        {
            pass.Block(layer);
        }

        return (pass.Unembed(), pass.Cache);
    }
}
