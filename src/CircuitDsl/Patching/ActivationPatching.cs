using CircuitDsl.Model;
using CircuitDsl.Tensors;

namespace CircuitDsl.Patching;

/// <summary>
/// Activation patching as TransformerLens's <c>patching</c> module does it: the model runs on the corrupted input with
/// one activation replaced by its value on the clean input, and the metric — the logit difference between an answer
/// and a wrong token at the last position, averaged over the batch — is normalised so that the clean run scores 1 and
/// the corrupted run 0 (docs/math.md, "Activation patching"). Path patching restores only the direct path from sender
/// heads to receiver heads' queries, keys or values.
/// </summary>
/// <remarks>
/// Each single patch (<see cref="Patch(PatchedActivation, int, int?, int?)"/>) is one forward pass of the corrupted batch with one hook, its metric read as
/// the clean and corrupted runs' are, so a patch that changes nothing scores exactly 0 and patching every position of
/// <c>resid_pre</c> at layer 0 exactly 1. A sweep over positions runs each layer's positions as one batch from that layer on (see
/// <see cref="Sweep"/>): the same numbers to float rounding, and exactly 0 where the patch copies equal values.
/// </remarks>
public sealed class ActivationPatching
{
    private readonly HookedTransformer _model;
    private readonly int[][] _corrupted;
    private readonly ActivationCache _clean;
    private readonly ActivationCache _corruptedCache;

    private ActivationPatching(
        HookedTransformer model, int[][] corrupted, ActivationCache clean, ActivationCache corruptedCache, int answer, int wrong,
        double cleanMetric, double corruptedMetric)
    {
        _model = model;
        _corrupted = corrupted;
        _clean = clean;
        _corruptedCache = corruptedCache;
        Answer = answer;
        Wrong = wrong;
        CleanMetric = cleanMetric;
        CorruptedMetric = corruptedMetric;
    }

    /// <summary>How many positions (sequences × positions of the batched copies) a sweep over positions runs at once.</summary>
    private const int SweepRows = 4096;

    /// <summary>The answer token, whose logit minus <see cref="Wrong"/>'s is the metric.</summary>
    public int Answer { get; }

    /// <summary>The wrong token.</summary>
    public int Wrong { get; }

    /// <summary>The raw metric on the clean input: mean over sequences of <c>logit[answer] − logit[wrong]</c> at the last position.</summary>
    public double CleanMetric { get; }

    /// <summary>The raw metric on the corrupted input.</summary>
    public double CorruptedMetric { get; }

    /// <summary>Positions per sequence.</summary>
    public int Positions => _corrupted[0].Length;

    /// <summary>
    /// Runs the clean and the corrupted batch once each and records what the sweeps patch from.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The batches do not fit the model or differ in shape, a token is outside the vocabulary, the answer is the wrong
    /// token, or clean and corrupted give the same metric (nothing to normalise by).
    /// </exception>
    public static ActivationPatching Prepare(HookedTransformer model, int[][] clean, int[][] corrupted, int answer, int wrong)
    {
        ArgumentNullException.ThrowIfNull(model);
        Tokens.Validate(clean, model.Config);
        Tokens.Validate(corrupted, model.Config);
        if (clean.Length != corrupted.Length || clean[0].Length != corrupted[0].Length)
        {
            throw new ArgumentException(
                $"The clean input is {clean.Length}×{clean[0].Length} tokens and the corrupted one {corrupted.Length}×{corrupted[0].Length}; "
                + "patching needs the same number of sequences and positions in both.", nameof(corrupted));
        }

        foreach (var (token, name) in new[] { (answer, "answer"), (wrong, "wrong") })
        {
            if ((uint)token >= (uint)model.Config.DVocab)
            {
                throw new ArgumentException($"The {name} token {token} is outside the vocabulary [0, {model.Config.DVocab}).", name);
            }
        }

        if (answer == wrong)
        {
            throw new ArgumentException($"The answer and the wrong token are both {answer}; their logit difference is always 0.", nameof(wrong));
        }

        // The metrics come from unhooked runs, which a patch that copies nothing, or everything, reproduces to the bit.
        var (cleanPass, corruptedPass) = (model.Begin(clean, cacheNames: IsPatchedFrom), model.Begin(corrupted, cacheNames: IsPatchedFrom));
        double cleanMetric = Metric(model, cleanPass, answer, wrong), corruptedMetric = Metric(model, corruptedPass, answer, wrong);
        var (cleanCache, corruptedCache) = (cleanPass.Cache, corruptedPass.Cache);
        if (!double.IsFinite(cleanMetric) || !double.IsFinite(corruptedMetric) || cleanMetric == corruptedMetric)
        {
            throw new ArgumentException(
                $"The clean and corrupted inputs give logit differences {cleanMetric:G6} and {corruptedMetric:G6}; "
                + "patching normalises by their difference, so they must differ and be finite.", nameof(corrupted));
        }

        return new ActivationPatching(model, corrupted, cleanCache, corruptedCache, answer, wrong, cleanMetric, corruptedMetric);
    }

    /// <summary>
    /// The raw metric of <paramref name="pass"/> run to the end: the mean over sequences of <c>logit[answer] −
    /// logit[wrong]</c> at the last position, from the final residual stream there and two columns of <c>W_U</c> in
    /// double precision (<see cref="Losses.LogitDifferences"/>), so no logits are made.
    /// </summary>
    private static double Metric(HookedTransformer model, ForwardPass pass, int answer, int wrong) =>
        Losses.LogitDifferences(model.Weights, pass.FinalResidualAtLastPosition().Span, answer, wrong).Average();

    /// <summary>
    /// The normalised metric of one patched corrupted run, its tensors in <paramref name="arena"/> (reset after) when a
    /// sweep runs one patch after another.
    /// </summary>
    private double PatchedMetric(HookSet hooks, TensorArena? arena = null)
    {
        var metric = Metric(_model, new ForwardPass(_model.Weights, _corrupted, hooks, cacheNames: null, arena: arena), Answer, Wrong);
        arena?.Reset();
        return Normalise(metric);
    }

    /// <summary>The normalised <paramref name="metric"/>: 1 at the clean run's value, 0 at the corrupted run's.</summary>
    private double Normalise(double metric)
    {
        var value = (metric - CorruptedMetric) / (CleanMetric - CorruptedMetric);
        return value == 0 ? 0 : value; // no −0 in tables and JSON
    }

    /// <summary>
    /// The sweep of <paramref name="what"/>: <c>[n_layers, pos]</c> for the residual stream, attention and MLP outputs,
    /// <c>[n_layers, n_heads]</c> for head outputs and patterns at every position, <c>[n_layers, pos, n_heads]</c> for head
    /// outputs by position (TransformerLens's shapes). Each entry is the normalised metric with that one activation patched.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="PatchedActivation.MlpOut"/> of an attention-only model.</exception>
    public Tensor Sweep(PatchedActivation what)
    {
        var c = _model.Config;
        if (what == PatchedActivation.MlpOut && !c.HasMlp)
        {
            throw new ArgumentException("The model is attention-only: it has no MLP output to patch.", nameof(what));
        }

        int layers = c.NLayers, heads = c.NHeads, n = Positions;
        var arena = new TensorArena();
        switch (what)
        {
            case PatchedActivation.ResidPre or PatchedActivation.AttnOut or PatchedActivation.MlpOut:
            {
                var result = new Tensor(layers, n);
                for (var l = 0; l < layers; l++)
                {
                    SweepPositions(what, l, result.Span.Slice(l * n, n), arena);
                }

                return result;
            }

            case PatchedActivation.HeadOutputByPosition:
            {
                var result = new Tensor(layers, n, heads);
                for (var l = 0; l < layers; l++)
                {
                    for (var p = 0; p < n; p++)
                    {
                        for (var h = 0; h < heads; h++)
                        {
                            result.Span[(((l * n) + p) * heads) + h] = (float)Patch(what, l, p, h, arena);
                        }
                    }
                }

                return result;
            }

            default:
            {
                var result = new Tensor(layers, heads);
                for (var l = 0; l < layers; l++)
                {
                    for (var h = 0; h < heads; h++)
                    {
                        result.Span[(l * heads) + h] = (float)Patch(what, l, position: null, h, arena);
                    }
                }

                return result;
            }
        }
    }

    /// <summary>
    /// The normalised metric with <paramref name="what"/> at block <paramref name="layer"/> patched at each position in
    /// turn, into <paramref name="row"/>. A position whose clean and corrupted activations are equal in every sequence is
    /// the corrupted run itself (0) and does not run. The others run as one batch: each position's copy of the corrupted
    /// batch, starting at block <paramref name="layer"/> from the corrupted run's cached residual stream (the blocks
    /// before it are the corrupted run's), with its own position patched; the metric is read as <see cref="Metric"/>
    /// reads it, per copy, and the last block runs its queries and everything after them only at the last position
    /// (<see cref="ForwardPass.FinalResidualAtLastPosition"/>). Copies are batched at most <see cref="SweepRows"/>
    /// positions' worth at a time, each batch's tensors in <paramref name="arena"/>.
    /// </summary>
    private void SweepPositions(PatchedActivation what, int layer, Span<float> row, TensorArena arena)
    {
        var name = ActivationName(what, layer);
        Tensor clean = _clean[name], corrupted = _corruptedCache[name];
        int batch = _corrupted.Length, n = Positions, width = clean.Length / batch / n;
        var differing = new List<int>();
        for (var p = 0; p < n; p++)
        {
            var same = true;
            for (var b = 0; b < batch && same; b++)
            {
                var offset = ((b * n) + p) * width;
                same = clean.Span.Slice(offset, width).SequenceEqual(corrupted.Span.Slice(offset, width));
            }

            if (same)
            {
                row[p] = 0f;
            }
            else
            {
                differing.Add(p);
            }
        }

        var residPre = _corruptedCache[HookNames.ResidPre(layer)];
        var chunk = Math.Max(1, SweepRows / (batch * n));
        for (var first = 0; first < differing.Count; first += chunk)
        {
            var positions = differing.GetRange(first, Math.Min(chunk, differing.Count - first));
            var copies = positions.Count * batch;
            var start = arena.Take(copies, n, _model.Config.DModel);
            for (var i = 0; i < copies; i++)
            {
                residPre.Span.Slice((i % batch) * n * _model.Config.DModel, n * _model.Config.DModel)
                    .CopyTo(start.Span.Slice(i * n * _model.Config.DModel));
            }

            var hooks = new HookSet().Add(name, activation =>
            {
                for (var i = 0; i < copies; i++)
                {
                    var offset = (((i % batch) * n) + positions[i / batch]) * width;
                    clean.Span.Slice(offset, width).CopyTo(activation.Span.Slice((((i * n) + positions[i / batch]) * width), width));
                }
            });
            var differences = Losses.LogitDifferences(
                _model.Weights, _model.BeginAt(layer, start, hooks, arena).FinalResidualAtLastPosition().Span, Answer, Wrong);
            arena.Reset();
            for (var j = 0; j < positions.Count; j++)
            {
                var sum = 0.0;
                for (var b = 0; b < batch; b++)
                {
                    sum += differences[(j * batch) + b];
                }

                row[positions[j]] = (float)Normalise(sum / batch);
            }
        }
    }

    /// <summary>
    /// The normalised metric with one activation patched: <paramref name="what"/> at block <paramref name="layer"/>,
    /// at <paramref name="position"/> (every position when null) and, for head activations, of head
    /// <paramref name="head"/> (required for those, not allowed for the others).
    /// </summary>
    /// <exception cref="ArgumentException">The layer, position or head is outside the model or the input, or given where it means nothing.</exception>
    public double Patch(PatchedActivation what, int layer, int? position, int? head) => Patch(what, layer, position, head, arena: null);

    /// <summary><see cref="Patch(PatchedActivation, int, int?, int?)"/> with the pass's tensors in <paramref name="arena"/> (a sweep's).</summary>
    private double Patch(PatchedActivation what, int layer, int? position, int? head, TensorArena? arena)
    {
        var c = _model.Config;
        var headKind = what is PatchedActivation.HeadOutput or PatchedActivation.HeadOutputByPosition or PatchedActivation.HeadPattern;
        if ((uint)layer >= (uint)c.NLayers)
        {
            throw new ArgumentException($"Layer {layer} is outside the model's layers [0, {c.NLayers}).", nameof(layer));
        }

        if (position is { } p && (uint)p >= (uint)Positions)
        {
            throw new ArgumentException($"Position {p} is outside the input's positions [0, {Positions}).", nameof(position));
        }

        if (headKind != head.HasValue)
        {
            throw new ArgumentException(headKind ? $"Patching {what} needs a head." : $"Patching {what} takes no head.", nameof(head));
        }

        if (head is { } h && (uint)h >= (uint)c.NHeads)
        {
            throw new ArgumentException($"Head {h} is outside the layer's heads [0, {c.NHeads}).", nameof(head));
        }

        if (what == PatchedActivation.MlpOut && !c.HasMlp)
        {
            throw new ArgumentException("The model is attention-only: it has no MLP output to patch.", nameof(what));
        }

        var name = ActivationName(what, layer);
        var source = _clean[name];
        var hooks = new HookSet();
        if (what == PatchedActivation.HeadPattern)
        {
            hooks.Add(name, pattern => CopyHeadPattern(source, pattern, head!.Value, position));
        }
        else if (headKind)
        {
            hooks.Add(name, z => CopyHeads(source, z, [head!.Value], position));
        }
        else
        {
            hooks.Add(name, activation => CopyPositions(source, activation, position));
        }

        return PatchedMetric(hooks, arena);
    }

    /// <summary>
    /// Path patching: the normalised metric when only the direct path from <paramref name="senders"/> to the
    /// <paramref name="via"/> input (queries, keys or values) of <paramref name="receivers"/> carries the clean run.
    /// First the corrupted batch runs with the senders' outputs (<c>hook_z</c>) set to their clean values and every other
    /// head's output and every MLP output frozen at its corrupted value, so the receivers' inputs change only through the
    /// senders' direct writes; the receivers' <c>hook_q</c>/<c>hook_k</c>/<c>hook_v</c> from that run are then patched
    /// into a corrupted run, whose metric is returned.
    /// </summary>
    /// <exception cref="ArgumentException">A head is outside the model, a list is empty, or a sender is not in a layer before every receiver.</exception>
    public double PathPatch(IReadOnlyCollection<HeadId> senders, IReadOnlyCollection<HeadId> receivers, CompositionKind via)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(receivers);
        if (senders.Count == 0 || receivers.Count == 0)
        {
            throw new ArgumentException("Path patching needs at least one sender and one receiver head.", nameof(senders));
        }

        var c = _model.Config;
        foreach (var id in senders.Concat(receivers))
        {
            if ((uint)id.Layer >= (uint)c.NLayers || (uint)id.Head >= (uint)c.NHeads)
            {
                throw new ArgumentException($"Head {id} is not in the model ({c.NLayers} layers of {c.NHeads} heads).", nameof(senders));
            }
        }

        var firstReceiver = receivers.Min(r => r.Layer);
        foreach (var late in senders.Where(s => s.Layer >= firstReceiver))
        {
            throw new ArgumentException(
                $"Sender {late} is not in a layer before receiver layer {firstReceiver}; a head writes only to later layers.", nameof(senders));
        }

        var lastReceiver = receivers.Max(r => r.Layer);
        var inputName = (Func<int, string>)(via switch
        {
            CompositionKind.Q => HookNames.Q,
            CompositionKind.K => HookNames.K,
            CompositionKind.V => HookNames.V,
            _ => throw new ArgumentException($"Unknown receiver input {via}.", nameof(via)),
        });

        // 1. Senders clean, everything else frozen at the corrupted run: the receivers' inputs see only the direct path.
        var freeze = new HookSet();
        for (var l = 0; l < lastReceiver; l++)
        {
            var layer = l;
            var sent = senders.Where(s => s.Layer == layer).Select(s => s.Head).ToArray();
            var frozen = Enumerable.Range(0, c.NHeads).Except(sent).ToArray();
            freeze.Add(HookNames.Z(layer), z =>
            {
                CopyHeads(_clean[HookNames.Z(layer)], z, sent, position: null);
                CopyHeads(_corruptedCache[HookNames.Z(layer)], z, frozen, position: null);
            });
            if (c.HasMlp)
            {
                freeze.Add(HookNames.MlpOut(layer), mlp => CopyPositions(_corruptedCache[HookNames.MlpOut(layer)], mlp, position: null));
            }
        }

        var receiverLayers = receivers.Select(r => r.Layer).Distinct().ToHashSet();
        var (_, inputs) = _model.RunWithCache(_corrupted, name => receiverLayers.Any(l => name == inputName(l)), freeze);

        // 2. A corrupted run with only the receivers' inputs replaced.
        var patch = new HookSet();
        foreach (var layer in receiverLayers)
        {
            var heads = receivers.Where(r => r.Layer == layer).Select(r => r.Head).Distinct().ToArray();
            var source = inputs[inputName(layer)];
            patch.Add(inputName(layer), input => CopyHeads(source, input, heads, position: null));
        }

        return PatchedMetric(patch);
    }

    /// <summary>
    /// Path patching from each head in turn to <paramref name="receivers"/>: <c>[n_layers, n_heads]</c>, NaN for heads
    /// not in a layer before every receiver.
    /// </summary>
    public Tensor PathPatchSweep(IReadOnlyCollection<HeadId> receivers, CompositionKind via)
    {
        ArgumentNullException.ThrowIfNull(receivers);
        var c = _model.Config;
        var result = new Tensor(c.NLayers, c.NHeads);
        result.Span.Fill(float.NaN);
        var first = receivers.Count == 0 ? 0 : receivers.Min(r => r.Layer);
        for (var l = 0; l < Math.Min(first, c.NLayers); l++)
        {
            for (var h = 0; h < c.NHeads; h++)
            {
                result.Span[(l * c.NHeads) + h] = (float)PathPatch([new HeadId(l, h)], receivers, via);
            }
        }

        return result;
    }

    /// <summary>The hook point patching <paramref name="what"/> at block <paramref name="layer"/> replaces.</summary>
    private static string ActivationName(PatchedActivation what, int layer) => what switch
    {
        PatchedActivation.ResidPre => HookNames.ResidPre(layer),
        PatchedActivation.AttnOut => HookNames.AttnOut(layer),
        PatchedActivation.MlpOut => HookNames.MlpOut(layer),
        PatchedActivation.HeadPattern => HookNames.Pattern(layer),
        _ => HookNames.Z(layer),
    };

    /// <summary>Whether a sweep patches from or freezes at the hook point <paramref name="name"/>.</summary>
    private static bool IsPatchedFrom(string name) =>
        name.EndsWith(".hook_resid_pre", StringComparison.Ordinal) || name.EndsWith(".hook_attn_out", StringComparison.Ordinal)
        || name.EndsWith(".hook_mlp_out", StringComparison.Ordinal) || name.EndsWith(".attn.hook_z", StringComparison.Ordinal)
        || name.EndsWith(".attn.hook_pattern", StringComparison.Ordinal);

    /// <summary>Copies <c>[batch, pos, …]</c> rows at <paramref name="position"/> (all when null) from source to target.</summary>
    private static void CopyPositions(Tensor source, Tensor target, int? position)
    {
        if (position is not { } p)
        {
            source.Span.CopyTo(target.Span);
            return;
        }

        int batch = target.Dim(0), positions = target.Dim(1), row = target.Length / batch / positions;
        for (var b = 0; b < batch; b++)
        {
            var offset = ((b * positions) + p) * row;
            source.Span.Slice(offset, row).CopyTo(target.Span.Slice(offset, row));
        }
    }

    /// <summary>Copies heads <paramref name="heads"/> of a <c>[batch, pos, n_heads, d]</c> activation at one position or all.</summary>
    private static void CopyHeads(Tensor source, Tensor target, int[] heads, int? position)
    {
        int batch = target.Dim(0), positions = target.Dim(1), nHeads = target.Dim(2), d = target.Dim(3);
        for (var b = 0; b < batch; b++)
        {
            for (var p = position ?? 0; p < (position + 1 ?? positions); p++)
            {
                foreach (var h in heads)
                {
                    var offset = ((((b * positions) + p) * nHeads) + h) * d;
                    source.Span.Slice(offset, d).CopyTo(target.Span.Slice(offset, d));
                }
            }
        }
    }

    /// <summary>Copies one head's <c>[batch, n_heads, q, k]</c> pattern rows at query <paramref name="position"/> (all when null).</summary>
    private static void CopyHeadPattern(Tensor source, Tensor target, int head, int? position)
    {
        int batch = target.Dim(0), nHeads = target.Dim(1), n = target.Dim(2);
        for (var b = 0; b < batch; b++)
        {
            var offset = ((b * nHeads) + head) * n * n;
            var (start, length) = position is { } p ? (p * n, n) : (0, n * n);
            source.Span.Slice(offset + start, length).CopyTo(target.Span.Slice(offset + start, length));
        }
    }
}
