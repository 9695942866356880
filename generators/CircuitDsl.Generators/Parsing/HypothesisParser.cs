using System.Globalization;
using CircuitDsl.Generators.Diagnostics;
using CircuitDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CircuitDsl.Generators.Parsing;

/// <summary>
/// Reads one hypothesis attribute: its heads (parsed by <see cref="HeadId"/>, checked against the model), its
/// threshold (checked against the range of its score) and its other arguments. Every problem becomes a
/// diagnostic at the argument that causes it; <see cref="Parse"/> returns null if there was any.
/// </summary>
internal sealed class HypothesisParser
{
    private readonly HypothesisKind _kind;
    private readonly IMethodSymbol _method;
    private readonly string _modelName;
    private readonly Architecture? _architecture;
    private readonly ModelCard? _card;
    private readonly List<DiagnosticInfo> _diagnostics;
    private readonly CancellationToken _cancellationToken;
    private readonly List<ArgumentText> _documented = new();
    private bool _ok = true;

    public HypothesisParser(AttributeData attribute, HypothesisKind kind, IMethodSymbol method, string modelName,
        Architecture? architecture, ModelCard? card, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
    {
        Arguments = new AttributeArguments(attribute, cancellationToken);
        _kind = kind;
        _method = method;
        _modelName = modelName;
        _architecture = architecture;
        _card = card;
        _diagnostics = diagnostics;
        _cancellationToken = cancellationToken;
    }

    public AttributeArguments Arguments { get; }

    /// <summary>What the hypothesis claims, without its threshold: two hypotheses with one key say the same thing.</summary>
    public string ClaimKey { get; private set; } = "";

    public HypothesisSpec? Parse()
    {
        if (!Arguments.IsBound)
        {
            return null;
        }

        var heads = new List<HeadId>();
        var via = CompositionKind.Q;
        var bound = BoundKind.AtLeast;
        var inBaselineUnits = false;
        string? task = null;
        string? data = null;
        var batch = (Sequences: 0, Length: 0);
        string? unit = null;
        string? term = null;
        var measure = PathMeasure.Share;
        var order = 0;
        var seed = 0;
        var headBases = false;
        var neurons = false;
        PatchingSpec? patching = null;
        double threshold;
        switch (_kind)
        {
            case HypothesisKind.PreviousTokenHead:
                threshold = Detector(heads, out bound, out batch, "a previous-token score");
                break;
            case HypothesisKind.DuplicateTokenHead:
                threshold = Detector(heads, out bound, out batch, "a duplicate-token score");
                break;
            case HypothesisKind.InductionHead:
                threshold = Detector(heads, out bound, out batch, "an induction score");
                break;
            case HypothesisKind.CopyingHead:
                AddIfParsed(heads, Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head"));
                threshold = Threshold(out bound, "AtLeast", "AtMost", -1, 1, "[-1, 1]", "a copying score");
                ClaimKey = $"{_kind} {Show(heads)}";
                break;
            case HypothesisKind.Composes:
                threshold = Composition(heads, out via, out bound, out inBaselineUnits);
                break;
            case HypothesisKind.Ablation:
                AddIfParsed(heads, Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head"));
                (task, data) = TaskOrData();
                threshold = Threshold(out bound, "RaisesLossBy", "RaisesLossByAtMost", 0, double.PositiveInfinity, "(0, ∞)",
                    "a loss increase", exclusive: true);

                ClaimKey = $"{_kind} {Show(heads)} on {task ?? data}";
                break;
            case HypothesisKind.Faithfulness:
                FaithfulnessHeads(heads);
                (task, data) = TaskOrData();
                threshold = Threshold(out bound, "Recovers", "RecoversAtMost", 0, 1, "[0, 1]", "a recovered fraction of the loss");
                ClaimKey = $"{_kind} {Show(heads.OrderBy(h => h))} on {task ?? data}";
                break;
            case HypothesisKind.DirectPathBigrams:
                (task, seed) = PlantedTask(TaskNames.Bigram, "the direct path");
                threshold = Threshold(out bound, "AtLeast", "AtMost", -1, 1, "[-1, 1]", "a correlation");
                ClaimKey = $"{_kind}";
                break;
            case HypothesisKind.SkipTrigrams:
                AddIfParsed(heads, Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head"));
                (task, seed) = PlantedTask(TaskNames.SkipTrigram, "the head's skip-trigrams");
                threshold = Threshold(out bound, "AtLeast", "AtMost", 0, 1, "[0, 1]", "a fraction of planted skip-trigrams");
                ClaimKey = $"{_kind} {Show(heads)}";
                break;
            case HypothesisKind.Rotated:
                (seed, headBases, neurons) = Rotation();
                threshold = Threshold(out bound, "AtLeast", "AtMost", 0, double.PositiveInfinity, "[0, ∞)", "a relative logit change");
                ClaimKey = $"{_kind} seed {seed}{(headBases ? " head bases" : "")}{(neurons ? " neurons" : "")}";
                break;
            case HypothesisKind.Patching:
                patching = Patching(heads);
                threshold = Threshold(out bound, "AtLeast", "AtMost", double.NegativeInfinity, double.PositiveInfinity, "(-∞, ∞)",
                    "a normalised logit difference", exclusive: true);
                ClaimKey = $"{_kind} {_method.Name}";
                break;
            case HypothesisKind.Measured:
                threshold = Threshold(out bound, "AtLeast", "AtMost", double.NegativeInfinity, double.PositiveInfinity, "(-∞, ∞)",
                    "a measured value", exclusive: true);
                unit = Arguments.Named("Unit").AsString();
                if (unit is not null)
                {
                    _documented.Add(new ArgumentText("Unit", unit));
                }

                ClaimKey = $"{_kind} {_method.Name}";
                break;
            case HypothesisKind.PathTerm:
                term = PathTermName(heads);
                measure = Measure();
                threshold = PathThreshold(measure, out bound);
                (task, seed) = PathData();
                ClaimKey = $"{_kind} {term} {measure}";
                break;
            case HypothesisKind.VirtualHead:
                VirtualHead(heads);
                measure = Measure();
                threshold = PathThreshold(measure, out bound);
                (task, seed) = PathData();
                ClaimKey = $"{_kind} {Show(heads)} {measure}";
                break;
            case HypothesisKind.TermImportance:
                order = Order();
                threshold = Threshold(out bound, "Recovers", "RecoversAtMost", 0, 1, "[0, 1]", "a recovered fraction of the loss");
                (task, seed) = PathData();
                ClaimKey = $"{_kind} {order.ToString(CultureInfo.InvariantCulture)}";
                break;
            default:
                return null;
        }

        if (_kind != HypothesisKind.Composes && bound == BoundKind.AtMost)
        {
            ClaimKey += " (AtMost)";
        }

        var paper = Arguments.Named("Paper").AsString();
        if (paper is not null)
        {
            _documented.Add(new ArgumentText("Paper", paper));
        }

        var onSeeds = OnSeeds();

        if (!_ok)
        {
            return null;
        }

        var syntax = _method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_cancellationToken) as MethodDeclarationSyntax;
        return new HypothesisSpec(
            _method.Name,
            Accessibility(syntax),
            _method.Parameters.Length == 1 ? _method.Parameters[0].Name : "model",
            _kind,
            DocComments.Summary(syntax),
            heads.ToEquatableArray(),
            via,
            threshold,
            bound,
            inBaselineUnits,
            task,
            seed,
            unit,
            headBases,
            neurons,
            paper,
            onSeeds,
            _documented.ToEquatableArray(),
            term,
            measure,
            order,
            patching,
            data,
            batch.Sequences,
            batch.Length);
    }

    /// <summary>
    /// <c>[Rotated]</c>'s seed and bases, refusing a rotation the model cannot take: neurons of a model without MLPs
    /// (CDSL035), or the residual stream of a shortformer whose LayerNorm has weights (CDSL036).
    /// </summary>
    private (int Seed, bool HeadBases, bool Neurons) Rotation()
    {
        var seed = 0;
        if (Arguments.Named("Seed").TryGetInt(out var s))
        {
            seed = s;
            _documented.Add(new ArgumentText("Seed", seed.ToString(CultureInfo.InvariantCulture)));
        }

        var headBases = Arguments.Named("HeadBases").TryGetBool(out var h) && h;
        var neurons = Arguments.Named("Neurons").TryGetBool(out var n) && n;
        if (headBases)
        {
            _documented.Add(new ArgumentText("HeadBases", "true"));
        }

        if (neurons)
        {
            _documented.Add(new ArgumentText("Neurons", "true"));
        }

        if (_architecture is { } a)
        {
            if (neurons && !a.HasMlp)
            {
                _ok = false;
                _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.RotatedNeuronsWithoutMlp, Arguments.NamedLocation("Neurons"),
                    _method.Name, _modelName));
            }

            if (!headBases && !neurons && a.NormalizationType == Normalization.LN && a.PositionalEmbeddingType == PositionalEmbedding.Shortformer)
            {
                _ok = false;
                _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.RotatedShortformerResidualStream, Arguments.Location,
                    _method.Name, _modelName));
            }
        }

        return (seed, headBases, neurons);
    }

    private double Detector(List<HeadId> heads, out BoundKind bound, out (int Sequences, int Length) batch, string score)
    {
        AddIfParsed(heads, Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head"));
        batch = DetectionBatch();
        ClaimKey = $"{_kind} {Show(heads)}" + (batch == (0, 0) ? "" : $" on {batch.Sequences.ToString(CultureInfo.InvariantCulture)} x {batch.Length.ToString(CultureInfo.InvariantCulture)}");
        return Threshold(out bound, "AtLeast", "AtMost", 0, 1, "[0, 1]", score);
    }

    /// <summary>
    /// A detector claim's own detection batch, <c>Sequences</c> and <c>SequenceLength</c> (0 each for the default
    /// batch's), checked against the model: at least one sequence, of 2 to <c>n_ctx − 1</c> tokens, whose first half
    /// fits the vocabulary (CDSL040).
    /// </summary>
    private (int Sequences, int Length) DetectionBatch()
    {
        var sequences = 0;
        if (Arguments.Named("Sequences").TryGetInt(out var count) && count != 0)
        {
            if (count < 0)
            {
                BatchOutOfRange("Sequences", count, "is not a number of sequences: a detection batch has at least 1 (0 keeps the default batch's)");
            }
            else
            {
                sequences = count;
                _documented.Add(new ArgumentText("Sequences", count.ToString(CultureInfo.InvariantCulture)));
            }
        }

        var length = 0;
        if (Arguments.Named("SequenceLength").TryGetInt(out var n) && n != 0)
        {
            var longest = _architecture is { } a ? a.NCtx - 1 : int.MaxValue;
            if (n < 2 || n > longest)
            {
                BatchOutOfRange("SequenceLength", n, longest == int.MaxValue
                    ? "is too short: a detection sequence has at least 2 tokens"
                    : $"is outside 2 … n_ctx − 1 = {longest}, the lengths a detection sequence of {_modelName} can have");
            }
            else if (_architecture is { } b && (n + 1) / 2 > b.DVocab)
            {
                BatchOutOfRange("SequenceLength", n, $"needs {(n + 1) / 2} distinct tokens, but {_modelName} has d_vocab = {b.DVocab}");
            }
            else
            {
                length = n;
                _documented.Add(new ArgumentText("SequenceLength", n.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return (sequences, length);
    }

    private void BatchOutOfRange(string argument, int value, string why)
    {
        _ok = false;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DetectionBatchOutOfRange, Arguments.NamedLocation(argument), _kind.ToString(),
            _method.Name, $"{argument} = {value.ToString(CultureInfo.InvariantCulture)}", why));
    }

    private double Composition(List<HeadId> heads, out CompositionKind via, out BoundKind bound, out bool inBaselineUnits)
    {
        var to = Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head");
        HeadId? from = null;
        if (!Arguments.Has("From"))
        {
            Missing("From, the earlier head whose output is read (e.g. From = \"0.2\")");
        }
        else
        {
            from = Head(Arguments.Named("From"), Arguments.NamedLocation("From"), "From");
        }

        via = CompositionKind.Q;
        var viaValue = Arguments.Named("Via");
        if (viaValue is null)
        {
            Missing("Via, the input that reads: CompositionKind.Q, K or V");
        }
        else if (viaValue.IsBroken() || !viaValue.TryGetEnum(out var raw))
        {
            _ok = false;
        }
        else if (!Enum.IsDefined(typeof(CompositionKind), raw))
        {
            Missing("Via to be CompositionKind.Q, K or V");
        }
        else
        {
            via = (CompositionKind)raw;
            _documented.Add(new ArgumentText("Via", via.ToString()));
        }

        if (to is { } t && from is { } f && f.Layer >= t.Layer)
        {
            _ok = false;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.CompositionNotFromEarlierLayer, Arguments.NamedLocation("From"),
                t.ToString(), f.ToString(), f.Layer.ToString(CultureInfo.InvariantCulture), t.Layer.ToString(CultureInfo.InvariantCulture)));
        }

        AddIfParsed(heads, to);
        AddIfParsed(heads, from);

        inBaselineUnits = Arguments.Named("InBaselineUnits").TryGetBool(out var units) && units;
        if (inBaselineUnits)
        {
            _documented.Add(new ArgumentText("InBaselineUnits", "true"));
        }

        var oneBound = OneBound("AtLeast", "AtMost", "a threshold: AtLeast (they compose) or AtMost (they do not)", out bound, out var name);
        ClaimKey = $"{_kind} {Show(heads.Take(1))} from {Show(heads.Skip(1))} via {via} ({bound})";
        if (!oneBound)
        {
            return 0;
        }

        // Raw scores are at most 1, which is sqrt(d_model) baseline units of 1/sqrt(d_model).
        var max = _architecture is null ? double.PositiveInfinity : Math.Sqrt(_architecture.DModel);
        if (!inBaselineUnits)
        {
            var looksLikeBaselineUnits = Arguments.Named(name).TryGetDouble(out var written) && written > 1 && written <= max;
            return Threshold(name, 0, 1, "[0, 1]", looksLikeBaselineUnits
                ? "a composition score (a multiple of the random baseline 1/sqrt(d_model) needs InBaselineUnits = true)"
                : "a composition score");
        }

        var range = _architecture is null
            ? "[0, ∞)"
            : $"[0, {Number(max)}] (up to sqrt(d_model) = sqrt({_architecture.DModel.ToString(CultureInfo.InvariantCulture)}))";
        return Threshold(name, 0, max, range, "a composition score in baseline units");
    }

    /// <summary>A <c>[Patching]</c> claim's experiment, checked against the model (CDSL025–029 and CDSL010); null if invalid.</summary>
    private PatchingSpec? Patching(List<HeadId> heads)
    {
        var whatValue = Arguments.Positional(0);
        if (whatValue.IsBroken() || !whatValue.TryGetEnum(out var raw) || !Enum.IsDefined(typeof(PatchedActivation), raw))
        {
            _ok = false;
            return null;
        }

        var what = (PatchedActivation)raw;
        _documented.Add(new ArgumentText("What", what.ToString()));
        var clean = Tokens("Clean", "the clean input's token ids, e.g. Clean = new[] { 1, 2, 3 }");
        var corrupted = Tokens("Corrupted", "the corrupted input's token ids, as many as Clean");
        var answer = Token("Answer", "the answer token id");
        var wrong = Token("Wrong", "the wrong token id the answer is compared with");
        if (clean is null || corrupted is null || answer is null || wrong is null)
        {
            return null;
        }

        var vocab = _architecture?.DVocab ?? int.MaxValue;
        var context = _architecture?.NCtx ?? int.MaxValue;
        if (clean.Length != corrupted.Length || clean.Length == 0 || clean.Length > context)
        {
            var why = clean.Length != corrupted.Length
                ? "patching needs inputs of equal lengths"
                : clean.Length == 0 ? "patching needs at least one token" : $"{_modelName}'s context is n_ctx = {Number(context)}";
            return Fail(DiagnosticDescriptors.PatchingInputLengths, Arguments.NamedLocation("Corrupted"),
                _method.Name, Number(clean.Length), List(corrupted), Number(corrupted.Length), why);
        }

        foreach (var (tokens, name) in new[] { (clean, "Clean"), (corrupted, "Corrupted"), ([answer.Value], "Answer"), ([wrong.Value], "Wrong") })
        {
            var bad = Array.FindIndex(tokens, t => t < 0 || t >= vocab);
            if (bad >= 0)
            {
                var which = name is "Answer" or "Wrong" ? $"{name} token" : $"{name} token at position {Number(bad)},";
                return Fail(DiagnosticDescriptors.PatchingTokenOutOfRange, Arguments.NamedLocation(name),
                    _method.Name, which, Number(tokens[bad]), Number(vocab), _modelName);
            }
        }

        if (answer == wrong)
        {
            return Fail(DiagnosticDescriptors.PatchingAnswerIsWrong, Arguments.NamedLocation("Wrong"), _method.Name, Number(answer.Value));
        }

        if (clean.SequenceEqual(corrupted))
        {
            return Fail(DiagnosticDescriptors.PatchingSameInputs, Arguments.NamedLocation("Corrupted"), _method.Name, List(corrupted));
        }

        int? position = null;
        if (Arguments.Has("Position"))
        {
            if (!Arguments.Named("Position").TryGetInt(out var p))
            {
                _ok = false;
                return null;
            }

            if (p < 0 || p >= clean.Length)
            {
                return Fail(DiagnosticDescriptors.PatchingLocation, Arguments.NamedLocation("Position"), _method.Name,
                    $"Position = {Number(p)} is not one of the input's positions 0 to {Number(clean.Length - 1)}");
            }

            position = p;
            _documented.Add(new ArgumentText("Position", Number(p)));
        }

        var headKind = what is PatchedActivation.HeadOutput or PatchedActivation.HeadOutputByPosition or PatchedActivation.HeadPattern;
        var (needed, unwanted) = headKind ? ("Head", "Layer") : ("Layer", "Head");
        if (Arguments.Has(unwanted))
        {
            return Fail(DiagnosticDescriptors.PatchingLocation, Arguments.NamedLocation(unwanted), _method.Name,
                $"{what} is patched at a {needed}, not a {unwanted} ({unwanted} = {Arguments.NamedText(unwanted)})");
        }

        if (!Arguments.Has(needed))
        {
            Missing($"{needed}, where {what} is patched");
            return null;
        }

        if (what == PatchedActivation.HeadOutputByPosition && position is null)
        {
            return Fail(DiagnosticDescriptors.PatchingLocation, Arguments.Location, _method.Name,
                "HeadOutputByPosition patches one position: give Position (or patch HeadOutput at every position)");
        }

        int layer;
        if (headKind)
        {
            if (Head(Arguments.Named("Head"), Arguments.NamedLocation("Head"), "Head") is not { } head)
            {
                return null;
            }

            heads.Add(head);
            layer = head.Layer;
        }
        else
        {
            if (!Arguments.Named("Layer").TryGetInt(out layer))
            {
                _ok = false;
                return null;
            }

            var layers = _architecture?.NLayers ?? int.MaxValue;
            if (layer < 0 || layer >= layers)
            {
                return Fail(DiagnosticDescriptors.PatchingLocation, Arguments.NamedLocation("Layer"), _method.Name,
                    $"Layer = {Number(layer)} is not a block of {_modelName}, which has {Count(layers, "layer")}");
            }

            if (what == PatchedActivation.MlpOut && _architecture is { HasMlp: false })
            {
                return Fail(DiagnosticDescriptors.PatchingLocation, Arguments.Location, _method.Name,
                    $"{_modelName} is attention-only: it has no MLP output to patch");
            }

            _documented.Add(new ArgumentText("Layer", Number(layer)));
        }

        _documented.Add(new ArgumentText("Answer", Number(answer.Value)));
        _documented.Add(new ArgumentText("Wrong", Number(wrong.Value)));
        return new PatchingSpec(what, layer, position, clean.ToEquatableArray(), corrupted.ToEquatableArray(), answer.Value, wrong.Value);
    }

    private int[]? Tokens(string name, string what)
    {
        var value = Arguments.Named(name);
        if (!Arguments.Has(name))
        {
            Missing($"{name}, {what}");
            return null;
        }

        if (value is not { Kind: TypedConstantKind.Array } array || array.IsNull || array.Values.Any(v => v.Value is not int))
        {
            _ok = false;
            return null;
        }

        var tokens = array.Values.Select(v => (int)v.Value!).ToArray();
        _documented.Add(new ArgumentText(name, "[" + List(tokens) + "]"));
        return tokens;
    }

    private int? Token(string name, string what)
    {
        if (!Arguments.Has(name))
        {
            Missing($"{name}, {what}");
            return null;
        }

        if (!Arguments.Named(name).TryGetInt(out var token))
        {
            _ok = false;
            return null;
        }

        return token;
    }

    private PatchingSpec? Fail(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments)
    {
        _ok = false;
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? Arguments.Location, arguments));
        return null;
    }

    private void FaithfulnessHeads(List<HeadId> heads)
    {
        var value = Arguments.Positional(0);
        if (value is not { Kind: TypedConstantKind.Array } array)
        {
            _ok = false;
            return;
        }

        if (array.IsNull || array.Values.Length == 0)
        {
            Missing("at least one head, e.g. [Faithfulness(\"0.2\", \"1.1\", ...)]");
            return;
        }

        var oneByOne = Arguments.PositionalCount == array.Values.Length;
        for (var i = 0; i < array.Values.Length; i++)
        {
            var location = Arguments.PositionalLocation(oneByOne ? i : 0);
            if (Head(array.Values[i], location, argument: null) is not { } head)
            {
                continue;
            }

            if (heads.Contains(head))
            {
                Missing($"each head once ({head} is listed twice)", location);
                continue;
            }

            heads.Add(head);
        }

        _documented.Add(new ArgumentText("Heads", Show(heads)));
    }

    /// <summary>
    /// The data a path claim is measured on: the model's training task and seed when it has a valid <c>[TrainedOn]</c>
    /// (documented as Task and Seed), else none (the runtime's detection batch).
    /// </summary>
    private (string? Task, int Seed) PathData()
    {
        if (_card is null)
        {
            return (null, 0);
        }

        _documented.Add(new ArgumentText("Task", _card.Task));
        _documented.Add(new ArgumentText("Seed", _card.SeedCount == 1 ? _card.Seed.ToString(CultureInfo.InvariantCulture) : "each seed's own"));
        return (_card.Task, _card.Seed);
    }

    /// <summary>A <c>[PathTerm]</c>'s term, parsed by <see cref="PathTermNames"/> and checked against the model (CDSL019); documented as Term.</summary>
    private string? PathTermName(List<HeadId> heads)
    {
        var value = Arguments.Positional(0);
        var location = Arguments.PositionalLocation(0);
        if (value is null || value.IsBroken() || value.Value.Kind != TypedConstantKind.Primitive && !value.Value.IsNull)
        {
            _ok = false;
            return null;
        }

        var text = value.AsString();
        if (!PathTermNames.TryParse(text, out var kind, out _, out var layer, out var error))
        {
            UnknownPathTerm(location, error!);
            return null;
        }

        if (kind == PathTermKind.Head)
        {
            AddIfParsed(heads, Head(value, location, argument: null));
        }
        else if (_architecture is not null && kind is PathTermKind.AttentionBias or PathTermKind.Mlp)
        {
            var prefix = kind == PathTermKind.Mlp ? "mlp" : "b";
            if (kind == PathTermKind.Mlp && !_architecture.HasMlp)
            {
                UnknownPathTerm(location, $"'{text}' names no path term of {_modelName}: it has no MLP"
                    + (_architecture.NLayers == 0 ? " (no layers)." : " (attention only)."));
            }
            else if (layer >= _architecture.NLayers)
            {
                UnknownPathTerm(location, $"'{text}' names no path term of {_modelName}: "
                    + (_architecture.NLayers == 0
                        ? "it has no layers."
                        : $"it has {Count(_architecture.NLayers, "layer")}, {prefix}0 to {prefix}{(_architecture.NLayers - 1).ToString(CultureInfo.InvariantCulture)}."));
            }
        }

        _documented.Add(new ArgumentText("Term", text!));
        return text;
    }

    private void UnknownPathTerm(LocationInfo? location, string why)
    {
        _ok = false;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownPathTerm, location, _method.Name, why));
    }

    /// <summary>A <c>[VirtualHead]</c>'s later head and <c>Through</c>, in that order; Through must be in an earlier layer (CDSL017).</summary>
    private void VirtualHead(List<HeadId> heads)
    {
        var head = Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head");
        HeadId? through = null;
        if (!Arguments.Has("Through"))
        {
            Missing("Through, the earlier head the path runs through first (e.g. Through = \"0.1\")");
        }
        else
        {
            through = Head(Arguments.Named("Through"), Arguments.NamedLocation("Through"), "Through");
        }

        if (head is { } h && through is { } t && t.Layer >= h.Layer)
        {
            _ok = false;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.VirtualHeadNotThroughEarlierLayer, Arguments.NamedLocation("Through"),
                _method.Name, t.ToString(), h.ToString(), t.Layer.ToString(CultureInfo.InvariantCulture), h.Layer.ToString(CultureInfo.InvariantCulture)));
        }

        AddIfParsed(heads, head);
        AddIfParsed(heads, through);
    }

    /// <summary>A path claim's <c>Measure</c>: <see cref="PathMeasure.Share"/> when not written; a value outside the enum is CDSL020.</summary>
    private PathMeasure Measure()
    {
        var value = Arguments.Named("Measure");
        if (value is null)
        {
            return PathMeasure.Share;
        }

        if (value.IsBroken() || !value.TryGetEnum(out var raw))
        {
            _ok = false;
            return PathMeasure.Share;
        }

        if (!Enum.IsDefined(typeof(PathMeasure), raw))
        {
            _ok = false;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnknownPathMeasure, Arguments.NamedLocation("Measure"), _kind.ToString(), _method.Name,
                Arguments.NamedText("Measure") ?? ""));
            return PathMeasure.Share;
        }

        var measure = (PathMeasure)raw;
        _documented.Add(new ArgumentText("Measure", measure.ToString()));
        return measure;
    }

    /// <summary>A share is in [0, 1]; a mean next-token logit is any finite number.</summary>
    private double PathThreshold(PathMeasure measure, out BoundKind bound) => measure == PathMeasure.NextTokenLogit
        ? Threshold(out bound, "AtLeast", "AtMost", double.NegativeInfinity, double.PositiveInfinity, "(-∞, ∞)", "a mean next-token logit", exclusive: true)
        : Threshold(out bound, "AtLeast", "AtMost", 0, 1, "[0, 1]", "a share of the logits");

    /// <summary>A <c>[TermImportance]</c>'s <c>Order</c>, from 0 to the model's layer count (CDSL018); documented.</summary>
    private int Order()
    {
        if (!Arguments.Has("Order"))
        {
            Missing("Order, the largest path order kept (e.g. Order = 1)");
            return 0;
        }

        if (!Arguments.Named("Order").TryGetInt(out var order))
        {
            _ok = false;
            return 0;
        }

        var text = order.ToString(CultureInfo.InvariantCulture);
        if (order < 0 || _architecture is not null && order > _architecture.NLayers)
        {
            _ok = false;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.PathOrderOutOfRange, Arguments.NamedLocation("Order"), _method.Name, text,
                _modelName, _architecture?.NLayers.ToString(CultureInfo.InvariantCulture) ?? "its layer count"));
        }

        _documented.Add(new ArgumentText("Order", text));
        return order;
    }

    /// <summary>
    /// <c>OnSeeds</c>: on how many of the model's seeds the claim must hold, 0 for all; documented when given. At least 1
    /// and at most the number of seeds the model card lists (one without a card).
    /// </summary>
    private int OnSeeds()
    {
        if (!Arguments.Has("OnSeeds"))
        {
            return 0;
        }

        if (!Arguments.Named("OnSeeds").TryGetInt(out var onSeeds))
        {
            _ok = false;
            return 0;
        }

        var seeds = _card?.SeedCount ?? 1;
        if (onSeeds < 1 || onSeeds > seeds)
        {
            _ok = false;
            var why = onSeeds < 1
                ? "a claim holds on at least one seed (leave OnSeeds out for all of them)"
                : $"{_modelName} is trained on {seeds.ToString(CultureInfo.InvariantCulture)} seed{(seeds == 1 ? "" : "s")}";
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OnSeedsOutOfRange, Arguments.NamedLocation("OnSeeds"), _kind.ToString(),
                _method.Name, onSeeds.ToString(CultureInfo.InvariantCulture), why));
            return 0;
        }

        _documented.Add(new ArgumentText("OnSeeds", onSeeds.ToString(CultureInfo.InvariantCulture)));
        return onSeeds;
    }

    /// <summary>The model's training task and seed, which must be <paramref name="expected"/>; documented as Task and Seed.</summary>
    private (string? Task, int Seed) PlantedTask(string expected, string what)
    {
        if (_card is null || _card.Task != expected)
        {
            _ok = false;
            var why = _card is null
                ? $"{_modelName} has no valid [TrainedOn(\"{expected}\", ...)] saying which seed drew it"
                : $"{_modelName} is [TrainedOn(\"{_card.Task}\")]";
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NeedsTrainingTask, Arguments.Location, _kind.ToString(),
                _method.Name, what, expected, why));
            return (null, 0);
        }

        _documented.Add(new ArgumentText("Task", _card.Task));
        _documented.Add(new ArgumentText("Seed", _card.SeedCount == 1 ? _card.Seed.ToString(CultureInfo.InvariantCulture) : "each seed's own"));
        return (_card.Task, _card.Seed);
    }

    /// <summary>
    /// Where an ablation or faithfulness loss is measured: a named task (<c>Task</c>) or a tokens file in the model's weights
    /// folder (<c>Data</c>, CDSL037–CDSL039), exactly one.
    /// </summary>
    private (string? Task, string? Data) TaskOrData()
    {
        if (!Arguments.Has("Data"))
        {
            return (Task(), null);
        }

        var value = Arguments.Named("Data");
        if (value.IsBroken())
        {
            _ok = false;
            return (null, null);
        }

        var data = value.AsString() ?? "";
        var location = Arguments.NamedLocation("Data");
        DiagnosticInfo? problem = null;
        if (Arguments.Has("Task"))
        {
            problem = DiagnosticInfo.Create(DiagnosticDescriptors.TaskAndData, location, _kind.ToString(), _method.Name, data);
        }
        else if (DataPathProblem(data) is { } why)
        {
            problem = DiagnosticInfo.Create(DiagnosticDescriptors.InvalidDataPath, location, _kind.ToString(), _method.Name, data, why);
        }
        else if (_card is null)
        {
            problem = DiagnosticInfo.Create(DiagnosticDescriptors.DataWithoutModelCard, location, _kind.ToString(), _method.Name, data, _modelName);
        }

        if (problem is not null)
        {
            _ok = false;
            _diagnostics.Add(problem);
            return (null, null);
        }

        _documented.Add(new ArgumentText("Data", data));
        return (null, data);
    }

    /// <summary>Why <paramref name="path"/> cannot name a tokens file inside the model's weights folder, or null when it can.</summary>
    private static string? DataPathProblem(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return "is empty: name a tokens file in the model's weights folder, e.g. Data = \"data/prompts.json\"";
        }

        if (path[0] is '/' or '\\' or '~' || (path.Length > 1 && path[1] == ':'))
        {
            return "is an absolute path: write it relative to the model's [TrainedOn] Weights folder, which travels with the weights";
        }

        if (path.IndexOf('\\') >= 0)
        {
            return "separates folders with '\\': write '/', which every system reads";
        }

        if (Array.IndexOf(path.Split('/'), "..") >= 0)
        {
            return "leaves the model's weights folder by '..': the file must be inside it, to travel with the weights";
        }

        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? null
            : "is not a .json file: Data is a tokens file, a JSON array of token-id arrays";
    }

    private string? Task()
    {
        var value = Arguments.Named("Task");
        if (value.IsBroken())
        {
            _ok = false;
            return null;
        }

        var task = value.AsString();
        if (string.IsNullOrWhiteSpace(task))
        {
            Missing("Task, the task the loss is measured on (e.g. Task = \"repeated-tokens\"), or Data, a tokens file in the weights folder");
            return null;
        }

        if (Array.IndexOf(TaskNames.LossTasks, task) < 0)
        {
            Missing($"Task to be a task whose loss it can measure (known: {string.Join(", ", TaskNames.LossTasks)}), not '{task}'",
                Arguments.NamedLocation("Task"));
            return null;
        }

        _documented.Add(new ArgumentText("Task", task!));
        return task;
    }

    /// <summary>Parses and range-checks a head; documents it under <paramref name="argument"/> unless that is null.</summary>
    private HeadId? Head(TypedConstant? value, LocationInfo? location, string? argument)
    {
        if (value is null || value.IsBroken() || value.Value.Kind != TypedConstantKind.Primitive && !value.Value.IsNull)
        {
            _ok = false;
            return null;
        }

        if (!HeadId.TryParseHeadOrRole(value.AsString(), out var head, out var error))
        {
            _ok = false;
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MalformedHeadId, location, error!));
            return null;
        }

        if (argument is not null)
        {
            _documented.Add(new ArgumentText(argument, head.ToString()));
        }

        if (_architecture is not null && !_architecture.Contains(head))
        {
            _ok = false;
            var what = _architecture.NLayers == 0
                ? "it has no attention layers"
                : $"it has {Count(_architecture.NLayers, "layer")} of {Count(_architecture.NHeads, "head")}, 0.0 to "
                    + new HeadId(_architecture.NLayers - 1, _architecture.NHeads - 1);
            _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadOutOfRange, location, head.ToString(), _modelName, what));
            return null;
        }

        return head;
    }

    /// <summary>
    /// The claim's one bound, <paramref name="atLeast"/> or <paramref name="atMost"/> (both or neither is CDSL010), its
    /// value range-checked: within [<paramref name="min"/>, <paramref name="max"/>], or with <paramref name="exclusive"/>
    /// above <paramref name="min"/> and finite.
    /// </summary>
    private double Threshold(out BoundKind bound, string atLeast, string atMost, double min, double max, string range, string score,
        bool exclusive = false)
    {
        if (!OneBound(atLeast, atMost, $"{atLeast} or {atMost}, the threshold (in {range}) that supports the claim", out bound, out var name))
        {
            return 0;
        }

        return Threshold(name, min, max, range, score, exclusive);
    }

    /// <summary>Which one of the two bound arguments was given; reports CDSL010 (<paramref name="neither"/>) unless exactly one.</summary>
    private bool OneBound(string atLeast, string atMost, string neither, out BoundKind bound, out string name)
    {
        var hasAtLeast = Arguments.Has(atLeast);
        var hasAtMost = Arguments.Has(atMost);
        bound = hasAtMost && !hasAtLeast ? BoundKind.AtMost : BoundKind.AtLeast;
        name = bound == BoundKind.AtMost ? atMost : atLeast;
        if (hasAtLeast != hasAtMost)
        {
            return true;
        }

        Missing(hasAtLeast ? $"exactly one of {atLeast} and {atMost}, not both" : neither);
        return false;
    }

    private double Threshold(string name, double min, double max, string range, string score, bool exclusive = false)
    {
        var value = ThresholdValue(name);
        var inRange = exclusive ? value > min && value < max : value >= min && value <= max;
        if (_ok && !inRange)
        {
            OutOfRange(name, value, range, score);
        }

        return value;
    }

    private double ThresholdValue(string name)
    {
        var value = Arguments.Named(name);
        if (value is null)
        {
            return 0;
        }

        if (!value.TryGetDouble(out var number))
        {
            _ok = false;
            return 0;
        }

        _documented.Add(new ArgumentText(name, Number(number)));
        return number;
    }

    private void OutOfRange(string name, double value, string range, string score)
    {
        _ok = false;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ThresholdOutOfRange, Arguments.NamedLocation(name),
            name, Number(value), range, score));
    }

    private void Missing(string what, LocationInfo? location = null)
    {
        _ok = false;
        _diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingArgument, location ?? Arguments.Location, _kind.ToString(),
            _method.Name, what));
    }

    private static void AddIfParsed(List<HeadId> heads, HeadId? head)
    {
        if (head is { } h)
        {
            heads.Add(h);
        }
    }

    /// <summary>The signature of a hypothesis method whose attribute was rejected, for the body it still gets.</summary>
    public static RejectedHypothesis Rejected(IMethodSymbol method, CancellationToken cancellationToken) =>
        new(method.Name,
            Accessibility(method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as MethodDeclarationSyntax),
            method.Parameters.Length == 1 ? method.Parameters[0].Name : "model");

    private static string Accessibility(MethodDeclarationSyntax? syntax)
    {
        var words = syntax?.Modifiers
            .Where(m => m.IsKind(SyntaxKind.PublicKeyword) || m.IsKind(SyntaxKind.InternalKeyword)
                || m.IsKind(SyntaxKind.PrivateKeyword) || m.IsKind(SyntaxKind.ProtectedKeyword))
            .Select(m => m.Text)
            .ToList();
        return words is null || words.Count == 0 ? "private" : string.Join(" ", words);
    }

    private static string Show(IEnumerable<HeadId> heads) => string.Join(", ", heads.Select(h => h.ToString()));

    private static string Count(int n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? "" : "s");

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string List(int[] tokens) => string.Join(", ", tokens.Select(Number));

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
