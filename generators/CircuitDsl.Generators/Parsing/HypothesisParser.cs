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
        string? unit = null;
        var seed = 0;
        double threshold;
        switch (_kind)
        {
            case HypothesisKind.PreviousTokenHead:
                threshold = Detector(heads, out bound, "a previous-token score");
                break;
            case HypothesisKind.DuplicateTokenHead:
                threshold = Detector(heads, out bound, "a duplicate-token score");
                break;
            case HypothesisKind.InductionHead:
                threshold = Detector(heads, out bound, "an induction score");
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
                task = Task();
                threshold = Threshold(out bound, "RaisesLossBy", "RaisesLossByAtMost", 0, double.PositiveInfinity, "(0, ∞)",
                    "a loss increase", exclusive: true);

                ClaimKey = $"{_kind} {Show(heads)} on {task}";
                break;
            case HypothesisKind.Faithfulness:
                FaithfulnessHeads(heads);
                task = Task();
                threshold = Threshold(out bound, "Recovers", "RecoversAtMost", 0, 1, "[0, 1]", "a recovered fraction of the loss");
                ClaimKey = $"{_kind} {Show(heads.OrderBy(h => h))} on {task}";
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
            paper,
            onSeeds,
            _documented.ToEquatableArray());
    }

    private double Detector(List<HeadId> heads, out BoundKind bound, string score)
    {
        AddIfParsed(heads, Head(Arguments.Positional(0), Arguments.PositionalLocation(0), "Head"));
        ClaimKey = $"{_kind} {Show(heads)}";
        return Threshold(out bound, "AtLeast", "AtMost", 0, 1, "[0, 1]", score);
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
            Missing("Task, the task the loss is measured on (e.g. Task = \"repeated-tokens\")");
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
}
