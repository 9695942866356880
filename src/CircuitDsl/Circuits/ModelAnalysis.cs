using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tasks;
using CircuitDsl.Tensors;

namespace CircuitDsl.Circuits;

/// <summary>
/// One model, its processed weights and a detection batch, with everything several hypotheses share computed
/// once, lazily and thread-safely: detector scores on the batch, the composition tables, the copying scores, the path-expansion term sizes.
/// <c>Hypotheses</c> turns these into <see cref="Evidence"/>.
/// </summary>
public sealed class ModelAnalysis
{
    private readonly Lazy<CompositionTable> _composition;
    private readonly Lazy<CopyingTable> _copying;
    private readonly Lazy<DetectorScores> _detectors;
    private readonly Lazy<Tensor>[] _firstSequencePatterns;
    private readonly Lazy<IReadOnlyList<TermShare>> _pathShares;
    private readonly Lazy<ResidualDecomposition> _residual;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string? Task, int Seed), Lazy<PathTermSet>> _paths = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Sequences, int Length), Lazy<ModelAnalysis>> _detectionBatches = new();
    private readonly bool _onDefaultBatch;

    /// <summary>
    /// Token rows per detection pass: as many whole sequences as fit (at least one), so that each product has rows
    /// enough to keep the kernels busy (four of GPT-2 small's 256-token sequences: its default batch in 2.1 s instead
    /// of 2.4 s one at a time; all eight at once, no faster) while the pass holds one block's activations of those rows.
    /// </summary>
    private const int DetectionPassRows = 1024;

    /// <summary>
    /// Analyses <paramref name="weights"/> after <paramref name="processing"/> (TransformerLens's defaults when null;
    /// <see cref="WeightProcessingOptions.None"/> for the weights as trained), detecting heads on
    /// <paramref name="detectionBatch"/> (<see cref="HeadDetector.DefaultBatch(ModelConfig)"/> when null). With
    /// <paramref name="processInPlace"/> the processing writes into <paramref name="weights"/>' own tensors
    /// (<see cref="Circuits.WeightProcessing.ApplyInPlace"/>) instead of copying the ones it changes: for weights
    /// loaded only for this analysis, such as a <c>ModelFolder</c>'s copy-on-write mapping, so the model is not held twice.
    /// </summary>
    public ModelAnalysis(
        TransformerWeights weights, WeightProcessingOptions? processing = null, int[][]? detectionBatch = null,
        string? modelName = null, bool processInPlace = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ModelName = modelName ?? "model";
        var options = processing ?? WeightProcessingOptions.Default;
        Unmeasurable = CircuitDsl.Weights.FiniteScan.FindNonFinite(weights, rewritesBlocks: processInPlace && options.WritesBlocks);
        var processed = processInPlace
            ? Circuits.WeightProcessing.ApplyInPlace(weights, options)
            : Circuits.WeightProcessing.Apply(weights, options);
        Weights = processed.Weights;
        WeightProcessing = processed.Description;
        ProcessingSkipped = processed.Skipped;
        Model = new HookedTransformer(Weights);
        DetectionBatch = detectionBatch ?? HeadDetector.DefaultBatch(weights.Config);
        _onDefaultBatch = detectionBatch is null;
        _composition = new Lazy<CompositionTable>(() => CompositionScores.Compute(Weights));
        _copying = new Lazy<CopyingTable>(() => CopyingScores.Compute(Weights));
        (_detectors, _firstSequencePatterns, _pathShares, _residual) = OnBatch();
    }

    /// <summary>
    /// The same processed weights detected on another batch: what does not depend on the batch (composition, copying) is
    /// shared with <paramref name="parent"/>, the rest is measured anew on first use.
    /// </summary>
    private ModelAnalysis(ModelAnalysis parent, int[][] detectionBatch)
    {
        ModelName = parent.ModelName;
        Unmeasurable = parent.Unmeasurable;
        Weights = parent.Weights;
        WeightProcessing = parent.WeightProcessing;
        ProcessingSkipped = parent.ProcessingSkipped;
        Model = parent.Model;
        DetectionBatch = detectionBatch;
        _composition = parent._composition;
        _copying = parent._copying;
        (_detectors, _firstSequencePatterns, _pathShares, _residual) = OnBatch();
    }

    /// <summary>What is measured on <see cref="DetectionBatch"/>, each on first use: the one definition both constructors share.</summary>
    private (Lazy<DetectorScores>, Lazy<Tensor>[], Lazy<IReadOnlyList<TermShare>>, Lazy<ResidualDecomposition>) OnBatch() =>
    (
        new Lazy<DetectorScores>(RunDetectors),
        [.. Enumerable.Range(0, Config.NLayers).Select(l => new Lazy<Tensor>(() => FirstSequencePatterns(l)))],
        new Lazy<IReadOnlyList<TermShare>>(() => Unmeasurable is null && PathOrder is { } order
            ? PathExpansion.Compute(Weights, [DetectionBatch[0]]).Shares(order)
            : []),
        new Lazy<ResidualDecomposition>(() => ResidualDecomposition.Compute(Weights, DetectionBatch)));

    /// <summary>The model's name, as reports print it.</summary>
    public string ModelName { get; }

    /// <summary>The processed weights every number is measured on.</summary>
    public TransformerWeights Weights { get; }

    /// <summary>The architecture.</summary>
    public ModelConfig Config => Weights.Config;

    /// <summary>The forward pass over <see cref="Weights"/>.</summary>
    public HookedTransformer Model { get; }

    /// <summary>The processing applied, as <see cref="ProcessedWeights.Description"/> says it.</summary>
    public string WeightProcessing { get; }

    /// <summary>Processing steps that were asked for but refused, with reasons.</summary>
    public IReadOnlyList<string> ProcessingSkipped { get; }

    /// <summary>The token sequences head detection runs on.</summary>
    public int[][] DetectionBatch { get; }

    /// <summary>Why nothing can be measured on these weights (a NaN or infinity, named), or null when they are finite.</summary>
    public string? Unmeasurable { get; }

    /// <summary>Every composition score (computed on first use).</summary>
    public CompositionTable Composition => _composition.Value;

    /// <summary>Every head's copying score (computed on first use).</summary>
    public CopyingTable Copying => _copying.Value;

    /// <summary>Every head's detector scores on <see cref="DetectionBatch"/> (one forward pass, on first use).</summary>
    public DetectorScores Detectors => _detectors.Value;

    /// <summary>
    /// The largest order of the paths <see cref="PathShares"/> lists one by one: two (the paper's virtual heads), or less
    /// when the model has fewer layers or more paths than <see cref="PathDecomposition.MaxListedTerms"/>; null when not
    /// even the order-0 paths are that few.
    /// </summary>
    public int? PathOrder
    {
        get
        {
            for (var order = Math.Min(2, Config.NLayers); order >= 0; order--)
            {
                if (PathDecomposition.CountTerms(Config, order) <= PathDecomposition.MaxListedTerms)
                {
                    return order;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Each path's share of the logits on the first detection sequence (<see cref="PathExpansion.Shares"/>, exact for
    /// every architecture: patterns and LayerNorm scales frozen), paths of order at most <see cref="PathOrder"/> one by
    /// one and the rest as one term, computed on first use; empty when the weights are not finite
    /// (<see cref="Unmeasurable"/>) or <see cref="PathOrder"/> is null.
    /// </summary>
    public IReadOnlyList<TermShare> PathShares => _pathShares.Value;

    /// <summary>
    /// The residual stream of the detection batch as TransformerLens users read it (<see cref="ResidualDecomposition"/>:
    /// the logit lens, direct logit attribution per head), one cached forward pass on first use.
    /// </summary>
    public ResidualDecomposition Residual => _residual.Value;

    /// <summary>
    /// The paper's path terms (<see cref="PathTermSet"/>, paths of up to two heads one by one, with term importance by
    /// order) on <see cref="TaskBatch"/> of <paramref name="task"/> drawn with <paramref name="seed"/>, or on the whole
    /// detection batch when <paramref name="task"/> is null; computed once per batch, on first use. Path claims read them.
    /// </summary>
    /// <exception cref="ArgumentException">The task is unknown or cannot be drawn for this vocabulary, or the paths would be too many for one decomposition (<see cref="PathDecomposition.Compute"/>).</exception>
    public PathTermSet Paths(string? task = null, int seed = 0) =>
        _paths.GetOrAdd((task, seed), key => new Lazy<PathTermSet>(() =>
            new PathTermSet(Weights, key.Task is null ? DetectionBatch : TaskBatch(key.Task, key.Seed)))).Value;

    /// <summary>
    /// Held-out sequences of the training task <paramref name="task"/> whose structure <paramref name="seed"/> drew (a model
    /// card's task and seed): <see cref="HeadDetector.DefaultBatchSize"/> sequences of <c>n_ctx</c> tokens, drawn with
    /// <see cref="HeadDetector.DefaultBatchSeed"/> (<see cref="TrainingTask.Batch"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The task is unknown, or cannot be drawn for this vocabulary.</exception>
    public int[][] TaskBatch(string task, int seed) =>
        TrainingTask.Create(task, Config.DVocab, seed).Batch(HeadDetector.DefaultBatchSize, Config.NCtx, HeadDetector.DefaultBatchSeed);

    /// <summary>
    /// The attention pattern <c>[q, k]</c> of <paramref name="head"/> on the first detection sequence (the blocks up to
    /// its layer run again on that sequence on first use; detection itself keeps no pattern).
    /// </summary>
    public Tensor ExamplePattern(HeadId head) => _firstSequencePatterns[head.Layer].Value[head.Head];

    /// <summary>
    /// This analysis on the detection batch <see cref="HeadDetector.DefaultBatch(ModelConfig, int, int)"/> of
    /// <paramref name="sequences"/> sequences of <paramref name="length"/> tokens (0 for either: the default batch's), for
    /// claims that set their own batch: the weights and everything not measured on the batch are shared, and each distinct
    /// batch is analysed once. When that batch is the default one and this analysis runs on it, this analysis itself.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is negative, or the length does not fit the model (<see cref="HeadDetector.DefaultBatch(ModelConfig, int, int)"/>).</exception>
    public ModelAnalysis OnDetectionBatch(int sequences, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequences);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var standard = _onDefaultBatch ? DetectionBatch : HeadDetector.DefaultBatch(Config);
        var key = (Sequences: sequences == 0 ? standard.Length : sequences, Length: length == 0 ? standard[0].Length : length);
        if (_onDefaultBatch && key == (DetectionBatch.Length, DetectionBatch[0].Length))
        {
            return this;
        }

        var batch = HeadDetector.DefaultBatch(Config, key.Sequences, key.Length);
        return _detectionBatches.GetOrAdd(key, _ => new Lazy<ModelAnalysis>(() => new ModelAnalysis(this, batch))).Value;
    }

    /// <summary>A report on this model of <paramref name="evidence"/> about <paramref name="circuit"/>.</summary>
    public CircuitReport Report(string circuit, IEnumerable<Evidence> evidence) =>
        new(circuit, ModelName, WeightProcessing, evidence);

    /// <summary>
    /// The head <paramref name="head"/> names on this model: itself when it is named by index; for a head named by its
    /// <see cref="HeadId.Role"/>, the head of its layer with the highest score of that role (detector scores on
    /// <see cref="DetectionBatch"/>, or copying scores; ties to the lower index). A role head of a layer the model does not
    /// have, or on weights that are not finite, stays as it is, for <see cref="WhyNotMeasurable"/> to name.
    /// </summary>
    public HeadId Resolve(HeadId head)
    {
        if (head.Role is not { } role || head.Layer >= Config.NLayers || Unmeasurable is not null)
        {
            return head;
        }

        var best = new HeadId(head.Layer, 0);
        var bestScore = double.NegativeInfinity;
        for (var h = 0; h < Config.NHeads; h++)
        {
            var candidate = new HeadId(head.Layer, h);
            var score = role switch
            {
                HeadRole.PreviousToken => Detectors.Score(DetectorKind.PreviousToken, candidate),
                HeadRole.DuplicateToken => Detectors.Score(DetectorKind.DuplicateToken, candidate),
                HeadRole.Induction => Detectors.Score(DetectorKind.Induction, candidate),
                _ => Copying.Score(candidate),
            };
            if (score > bestScore)
            {
                (best, bestScore) = (candidate, score);
            }
        }

        return best;
    }

    /// <summary>Why one of <paramref name="heads"/> cannot be measured here (outside the model, or non-finite weights), or null.</summary>
    public string? WhyNotMeasurable(params HeadId[] heads)
    {
        ArgumentNullException.ThrowIfNull(heads);
        foreach (var head in heads)
        {
            if (head.Layer < 0 || head.Layer >= Config.NLayers || head.Head < 0 || head.Head >= Config.NHeads || head.Role is not null)
            {
                return $"head {head} is outside the model ({Config.NLayers} layers × {Config.NHeads} heads).";
            }
        }

        return Unmeasurable;
    }

    /// <summary>
    /// Runs the blocks a few sequences at a time (<see cref="DetectionPassRows"/>) and scores each head's pattern a block
    /// of query rows at a time as the pass makes it (<see cref="PatternRows"/>): no <c>[n_heads, q, k]</c> pattern is
    /// ever held, only a row block per thread.
    /// The passes' tensors live in one arena, so every block of every sequence reuses the first block's memory instead
    /// of touching fresh pages (on GPT-2 small's default batch, half the detection's time).
    /// The last block stops at its patterns (<see cref="ForwardPass.PatternsOnly"/>): its values, output and MLP, and the
    /// unembedding, are never read by detection.
    /// </summary>
    private DetectorScores RunDetectors()
    {
        Tokens.Validate(DetectionBatch, Config);
        var builder = new HeadDetector.Builder(Config.NLayers, Config.NHeads, DetectionBatch);
        var arena = new TensorArena();
        var perPass = Math.Max(1, DetectionPassRows / DetectionBatch[0].Length);
        for (var first = 0; first < DetectionBatch.Length; first += perPass)
        {
            var offset = first;
            arena.Reset();
            var pass = new ForwardPass(Weights, DetectionBatch[first..Math.Min(DetectionBatch.Length, first + perPass)], hooks: null, cacheNames: null,
                (layer, b, head, firstRow, rowCount, rows, stride) => builder.AddRows(layer, offset + b, head, firstRow, rowCount, rows, stride),
                arena);
            for (var l = 0; l < Config.NLayers - 1; l++)
            {
                pass.Block(l);
            }

            if (Config.NLayers > 0)
            {
                pass.PatternsOnly(Config.NLayers - 1);
            }
        }

        return builder.Build();
    }

    /// <summary>Layer <paramref name="layer"/>'s pattern <c>[n_heads, q, k]</c> on the first detection sequence.</summary>
    private Tensor FirstSequencePatterns(int layer)
    {
        var name = HookNames.Pattern(layer);
        var pass = Model.Begin([DetectionBatch[0]], cacheNames: n => n == name);
        for (var l = 0; l <= layer; l++)
        {
            pass.Block(l);
        }

        return pass.Cache[name][0];
    }

    /// <summary>
    /// The first NaN or infinity in <paramref name="weights"/>, in state-dict order, as a sentence naming the tensor
    /// and the flat index of the element; null when every weight is finite. <see cref="Unmeasurable"/> is this.
    /// </summary>
    public static string? FindNonFinite(TransformerWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return CircuitDsl.Weights.FiniteScan.FindNonFinite(weights);
    }
}
