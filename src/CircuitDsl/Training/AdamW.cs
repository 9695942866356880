using CircuitDsl.Model;

namespace CircuitDsl.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter), with PyTorch's <c>torch.optim.AdamW</c> update
/// order and bias correction, applied in place to a model's weights.
/// </summary>
/// <remarks>
/// Weight decay applies to the matrices that read from or write to the residual stream —
/// <c>W_Q</c>, <c>W_K</c>, <c>W_V</c>, <c>W_O</c>, <c>W_in</c>, <c>W_out</c>, <c>W_U</c> — and not to the
/// embeddings <c>W_E</c>, <c>W_pos</c>, biases or LayerNorm parameters (the minGPT / nanoGPT convention;
/// TransformerLens's own <c>train</c> decays every parameter). Decaying <c>W_E</c> would shrink the bigram
/// table a zero-layer model has to learn.
/// </remarks>
public sealed class AdamW
{
    private readonly IReadOnlyList<KeyValuePair<string, Tensors.Tensor>> _parameters;
    private readonly bool[] _decays;
    private readonly float[][] _m;
    private readonly float[][] _v;

    /// <summary>An optimizer for <paramref name="weights"/>, with zero moment estimates.</summary>
    public AdamW(TransformerWeights weights, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
    {
        ArgumentNullException.ThrowIfNull(weights);
        _parameters = weights.ToStateDict();
        _decays = _parameters.Select(p => Decays(p.Key)).ToArray();
        _m = _parameters.Select(p => new float[p.Value.Length]).ToArray();
        _v = _parameters.Select(p => new float[p.Value.Length]).ToArray();
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>The decay rate of the first-moment estimate.</summary>
    public float Beta1 { get; }

    /// <summary>The decay rate of the second-moment estimate.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator for stability.</summary>
    public float Epsilon { get; }

    /// <summary>The number of steps taken.</summary>
    public int StepCount { get; private set; }

    /// <summary>
    /// The moment estimates, <c>m.{name}</c> and <c>v.{name}</c> for each parameter (shaped like it), as live views: what
    /// a checkpoint saves so that <see cref="Restore"/> continues the run bit for bit.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensors.Tensor>> Moments() =>
    [
        .. _parameters.Select((p, t) => new KeyValuePair<string, Tensors.Tensor>("m." + p.Key, new Tensors.Tensor(_m[t], p.Value.Shape.ToArray()))),
        .. _parameters.Select((p, t) => new KeyValuePair<string, Tensors.Tensor>("v." + p.Key, new Tensors.Tensor(_v[t], p.Value.Shape.ToArray()))),
    ];

    /// <summary>Sets the moment estimates (named as <see cref="Moments"/> names them) and the number of steps taken.</summary>
    /// <exception cref="ArgumentException">A moment is missing or has the wrong number of elements.</exception>
    public void Restore(IReadOnlyDictionary<string, Tensors.Tensor> moments, int stepCount)
    {
        ArgumentNullException.ThrowIfNull(moments);
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        for (var t = 0; t < _parameters.Count; t++)
        {
            foreach (var (prefix, target) in new[] { ("m.", _m[t]), ("v.", _v[t]) })
            {
                var name = prefix + _parameters[t].Key;
                if (!moments.TryGetValue(name, out var saved) || saved.Length != target.Length)
                {
                    throw new ArgumentException($"The optimizer state has no moment '{name}' of {target.Length} elements.", nameof(moments));
                }

                saved.Span.CopyTo(target);
            }
        }

        StepCount = stepCount;
    }

    /// <summary>Whether the parameter named <paramref name="name"/> (TransformerLens state-dict name) is weight-decayed.</summary>
    public static bool Decays(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var last = name[(name.LastIndexOf('.') + 1)..];
        return last is "W_Q" or "W_K" or "W_V" or "W_O" or "W_in" or "W_out" or "W_U";
    }

    /// <summary>
    /// One update with <paramref name="gradient"/> (shaped like the weights): for each parameter <c>p</c>,
    /// <c>p ← p·(1 − lr·wd)</c> if it decays, then <c>m ← β₁m + (1−β₁)g</c>, <c>v ← β₂v + (1−β₂)g²</c>,
    /// <c>p ← p − (lr / (1−β₁ᵗ)) · m / (sqrt(v) / sqrt(1−β₂ᵗ) + ε)</c>.
    /// </summary>
    public void Step(TransformerWeights gradient, float learningRate, float weightDecay)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        var grads = gradient.ToStateDict();
        if (grads.Count != _parameters.Count)
        {
            throw new ArgumentException("The gradient has a different set of tensors than the weights.", nameof(gradient));
        }

        StepCount++;
        var bc1 = 1f - MathF.Pow(Beta1, StepCount);
        var bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(Beta2, StepCount));
        var stepSize = learningRate / bc1;
        var decay = 1f - (learningRate * weightDecay);
        for (var t = 0; t < _parameters.Count; t++)
        {
            var p = _parameters[t].Value.Span;
            var g = grads[t].Value.Span;
            if (g.Length != p.Length)
            {
                throw new ArgumentException($"Gradient '{grads[t].Key}' has {g.Length} elements; the weight has {p.Length}.", nameof(gradient));
            }

            float[] m = _m[t], v = _v[t];
            var decays = _decays[t] && weightDecay != 0f;
            for (var i = 0; i < p.Length; i++)
            {
                if (decays)
                {
                    p[i] *= decay;
                }

                m[i] = (Beta1 * m[i]) + ((1f - Beta1) * g[i]);
                v[i] = (Beta2 * v[i]) + ((1f - Beta2) * g[i] * g[i]);
                p[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / bc2Sqrt) + Epsilon);
            }
        }
    }
}
