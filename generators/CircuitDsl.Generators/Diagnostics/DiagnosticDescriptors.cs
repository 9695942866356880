using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports. Adding one: take the next id, add it to
/// <c>AnalyzerReleases.Unshipped.md</c>, and write a test that asserts its id, message and location.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "CircuitDsl";

    /// <summary>Format: <c>{0}</c> is the head-id grammar's explanation, e.g. <c>'1,4' is not a head id: it has no '.'…</c>.</summary>
    public static readonly DiagnosticDescriptor MalformedHeadId = new(
        id: "CDSL001",
        title: "Malformed head id",
        messageFormat: "{0}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Heads are named the paper's way, layer.head, both counted from 0: \"1.4\" is head 4 of layer 1. "
            + "Write two non-negative whole numbers without spaces or leading zeros, separated by one dot.");

    /// <summary>Format: <c>Head {0} is not in {1}: {2}</c>.</summary>
    public static readonly DiagnosticDescriptor HeadOutOfRange = new(
        id: "CDSL002",
        title: "Head is not in the model",
        messageFormat: "Head {0} is not in {1}: {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A hypothesis names a layer or head index that the circuit's model does not have. Layers and "
            + "heads are counted from 0, so a model with NLayers = 2 and NHeads = 4 has heads 0.0 to 1.3.");

    /// <summary>Format: <c>Head {0} cannot read from head {1} by composition: {1} is in layer {2}, which is not before layer {3}</c>.</summary>
    public static readonly DiagnosticDescriptor CompositionNotFromEarlierLayer = new(
        id: "CDSL003",
        title: "Composition must read from an earlier layer",
        messageFormat: "Head {0} cannot read from head {1} by composition: {1} is in layer {2}, which is not before layer {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Q-, K- and V-composition read, in a later head, what an earlier head wrote into the residual "
            + "stream; heads of the same layer run in parallel and cannot compose. From must be in a lower layer.");

    /// <summary>Format: <c>{0} = {1} is outside {2}, the range of {3}</c>, e.g. <c>AtLeast = 1.5 is outside [0, 1], the range of an induction score</c>.</summary>
    public static readonly DiagnosticDescriptor ThresholdOutOfRange = new(
        id: "CDSL004",
        title: "Threshold outside the score's range",
        messageFormat: "{0} = {1} is outside {2}, the range of {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A threshold the score can never reach (or always exceeds) makes a claim that cannot fail or "
            + "cannot hold. Detector scores and recovered fractions lie in [0, 1], copying scores in [-1, 1], raw "
            + "composition scores in [0, 1] (in baseline units, [0, sqrt(d_model)]); a loss increase must be positive, and a "
            + "[Measured] value's bound finite.");

    /// <summary>Format: <c>Circuit {0} is about {1}, which has no [Transformer] attribute</c>.</summary>
    public static readonly DiagnosticDescriptor ModelWithoutTransformer = new(
        id: "CDSL005",
        title: "Circuit model has no [Transformer]",
        messageFormat: "Circuit {0} is about {1}, which has no [Transformer] attribute",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "[Circuit(typeof(M))] needs M to be a model spec: a partial class with [Transformer(...)] "
            + "declaring its architecture, so head ids can be checked against it.");

    /// <summary>Format: <c>[Transformer] on {0}: {1}</c>.</summary>
    public static readonly DiagnosticDescriptor ImpossibleArchitecture = new(
        id: "CDSL006",
        title: "Impossible architecture",
        messageFormat: "[Transformer] on {0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Sizes must be positive (NLayers may be 0, and a 0-layer model needs no NHeads or DHead); "
            + "DMlp is required without AttnOnly and not allowed with it; enum arguments must be defined "
            + "values. The generator emits one member per head, so NLayers and NHeads are capped.");

    /// <summary>Format: <c>{0} must be {1}</c>.</summary>
    public static readonly DiagnosticDescriptor SpecClassShape = new(
        id: "CDSL007",
        title: "Spec class of the wrong shape",
        messageFormat: "{0} must be {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A [Transformer] spec is a non-generic, non-static partial class without a base class, declared "
            + "directly in a namespace (its generated part derives from CircuitDsl.Facade.TransformerModel); a [Circuit] spec is a non-generic static partial class declared directly in a namespace. "
            + "The generator adds members to them.");

    /// <summary>Format: <c>Hypothesis {0} must be declared 'static partial Evidence {0}({1} model)': {2}</c>.</summary>
    public static readonly DiagnosticDescriptor HypothesisMethodShape = new(
        id: "CDSL008",
        title: "Hypothesis method of the wrong shape",
        messageFormat: "Hypothesis {0} must be declared 'static partial Evidence {0}({1} model)': {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generator implements each hypothesis method, so it must be a static partial method "
            + "without a body that takes the circuit's model and returns CircuitDsl.Reports.Evidence.");

    /// <summary>Format: <c>Hypothesis {0} repeats the claim of {1}: {2}</c>.</summary>
    public static readonly DiagnosticDescriptor DuplicateHypothesis = new(
        id: "CDSL009",
        title: "Duplicate hypothesis",
        messageFormat: "Hypothesis {0} repeats the claim of {1}: {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Two hypotheses of one circuit make the same claim about the same heads; a report would "
            + "count it twice. Keep one, or change what the second one claims.");

    /// <summary>Format: <c>[{0}] on {1} needs {2}</c>.</summary>
    public static readonly DiagnosticDescriptor MissingArgument = new(
        id: "CDSL010",
        title: "Hypothesis argument missing",
        messageFormat: "[{0}] on {1} needs {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Every hypothesis states exactly one threshold, a lower bound (AtLeast, RaisesLossBy, Recovers) or an "
            + "upper bound (AtMost, RaisesLossByAtMost, RecoversAtMost); composition also names From and Via, ablation and "
            + "faithfulness name their Task, and faithfulness lists each of its heads once. Thresholds have no "
            + "defaults, because the claim is in the number.");

    /// <summary>Format: <c>{0} has more than one hypothesis attribute ([{1}]); give each claim its own method</c>, e.g. <c>([InductionHead], [CopyingHead])</c>.</summary>
    public static readonly DiagnosticDescriptor MultipleHypotheses = new(
        id: "CDSL011",
        title: "More than one hypothesis on a method",
        messageFormat: "{0} has more than one hypothesis attribute ([{1}]); give each claim its own method",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A hypothesis method returns the evidence for one claim, named by the method.");

    /// <summary>Format: <c>Hypothesis {0} has no /// &lt;summary&gt;: reports and documentation show it as the claim in prose</c>.</summary>
    public static readonly DiagnosticDescriptor MissingClaim = new(
        id: "CDSL012",
        title: "Hypothesis without prose",
        messageFormat: "Hypothesis {0} has no /// <summary>: reports and documentation show it as the claim in prose",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The XML doc summary of a hypothesis method is its claim in words (\"Head 0.2 attends to the previous "
            + "token.\"); the generated report and documentation print it beside the measured value.");

    /// <summary>Format: <c>[TrainedOn] on {0}: {1}</c>, e.g. <c>'bigrams' is not a training task (known: bigram, skip-trigram, repeated-tokens, markov-repeats, reversal)</c>.</summary>
    public static readonly DiagnosticDescriptor InvalidModelCard = new(
        id: "CDSL013",
        title: "Invalid model card",
        messageFormat: "[TrainedOn] on {0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "[TrainedOn] says how a model's weights were made and where they are: the task must be one the "
            + "runtime can train on (circuitdsl train --task), Steps must be positive, Seed must not be negative, Weights "
            + "must name a folder, and a learning rate or batch size, when given, must be positive.");

    /// <summary>Format: <c>[{0}] on {1} compares {2} with what the '{3}' task planted, but {4}</c>.</summary>
    public static readonly DiagnosticDescriptor NeedsTrainingTask = new(
        id: "CDSL014",
        title: "Hypothesis needs the model's training task",
        messageFormat: "[{0}] on {1} compares {2} with what the '{3}' task planted, but {4}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "DirectPathBigrams and SkipTrigrams measure a model against the structure its training task drew "
            + "with its seed (the bigram chain, the skip-trigram table), so the model needs a [TrainedOn] naming that task.");

    /// <summary>Format: <c>[{0}] on {1} is never checked: {2} has no [Circuit] attribute; add [Circuit(typeof(TheModel))] to it</c>.</summary>
    public static readonly DiagnosticDescriptor HypothesisOutsideCircuit = new(
        id: "CDSL015",
        title: "Hypothesis outside a circuit",
        messageFormat: "[{0}] on {1} is never checked: {2} has no [Circuit] attribute; add [Circuit(typeof(TheModel))] to it",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generator implements hypothesis methods only in a [Circuit(typeof(M))] class, which names the model "
            + "the claims are about. Elsewhere the claim would silently never be measured.");

    /// <summary>Format: <c>[Measured] {0} must be declared 'static double {0}({1} model)' with a body that measures the value: {2}</c>.</summary>
    public static readonly DiagnosticDescriptor MeasuredMethodShape = new(
        id: "CDSL016",
        title: "Measured claim's method of the wrong shape",
        messageFormat: "[Measured] {0} must be declared 'static double {0}({1} model)' with a body that measures the value: {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A [Measured] claim's value is computed by the researcher's own code: a static method with a body that "
            + "takes the circuit's model and returns the number (double or float); CheckAll calls it and compares the value "
            + "with the claim's one bound, AtLeast or AtMost.");

    /// <summary>Format: <c>[VirtualHead] on {0}: a path cannot run through {1} and then {2}: Through must be in an earlier layer (it is in layer {3}, {2} in layer {4})</c>.</summary>
    public static readonly DiagnosticDescriptor VirtualHeadNotThroughEarlierLayer = new(
        id: "CDSL017",
        title: "Virtual head through a head that is not in an earlier layer",
        messageFormat: "[VirtualHead] on {0}: a path cannot run through {1} and then {2}: Through must be in an earlier layer (it is in layer {3}, {2} in layer {4})",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A virtual head is a path through two heads in strictly increasing layers: the earlier head (Through) "
            + "writes into the residual stream, and the later head reads that through its values. Heads of one layer read the "
            + "same residual stream, so neither reads the other.");

    /// <summary>Format: <c>[TermImportance] on {0}: Order = {1} is not a path order of {2}, whose orders run from 0 (no head) to {3} (one head per layer)</c>.</summary>
    public static readonly DiagnosticDescriptor PathOrderOutOfRange = new(
        id: "CDSL018",
        title: "Path order outside the model",
        messageFormat: "[TermImportance] on {0}: Order = {1} is not a path order of {2}, whose orders run from 0 (no head) to {3} (one head per layer)",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A path's order is its number of heads, and a path passes at most one head per layer, so term importance "
            + "keeps the terms of an order from 0 to the model's layer count.");

    /// <summary>Format: <c>[PathTerm] on {0}: {1}</c>, e.g. <c>'mlp0' names no path term of Induction2L: it is attention only</c>.</summary>
    public static readonly DiagnosticDescriptor UnknownPathTerm = new(
        id: "CDSL019",
        title: "Path term not in the model",
        messageFormat: "[PathTerm] on {0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A [PathTerm] names one term of the model's path expansion: \"direct\", a head (\"0.1\"), a layer's "
            + "attention constant (\"b0\"), an MLP's output (\"mlp0\", models with MLPs) or the unembedding constant (\"b_U\"); "
            + "layers count from 0.");

    /// <summary>Format: <c>[{0}] on {1} needs Measure to be PathMeasure.Share or PathMeasure.NextTokenLogit, not {2}</c>.</summary>
    public static readonly DiagnosticDescriptor UnknownPathMeasure = new(
        id: "CDSL020",
        title: "Unknown path measure",
        messageFormat: "[{0}] on {1} needs Measure to be PathMeasure.Share or PathMeasure.NextTokenLogit, not {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A path claim measures its term's share of the logits (0…1) or its mean contribution to the logit of the "
            + "token that comes next; a cast integer names neither.");
    /// <summary>Format: <c>[Rotated] on {0} sets Neurons = true, but {1} has no MLP neurons to rotate; rotate its residual stream or head bases instead</c>.</summary>
    public static readonly DiagnosticDescriptor RotatedNeuronsWithoutMlp = new(
        id: "CDSL035",
        title: "Rotating the neurons of a model without MLPs",
        messageFormat: "[Rotated] on {0} sets Neurons = true, but {1} has no MLP neurons to rotate; rotate its residual stream or head bases instead",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Neurons = true rotates each MLP's hidden basis; an attention-only model has none, so the claim could never be measured.");

    /// <summary>Format: <c>[Rotated] on {0} rotates the residual stream of {1}, a shortformer model with LayerNorm weights (LN), which cannot be rotated: ...</c>.</summary>
    public static readonly DiagnosticDescriptor RotatedShortformerResidualStream = new(
        id: "CDSL036",
        title: "Rotating the residual stream of a shortformer model with LayerNorm weights",
        messageFormat: "[Rotated] on {0} rotates the residual stream of {1}, a shortformer model with LayerNorm weights (LN), which cannot be rotated: "
            + "its positions join the queries' and keys' input after LayerNorm's weight, which therefore cannot be folded; claim HeadBases = true instead, or use LNPre",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Rotating the residual stream of an LN model first folds LayerNorm's elementwise weight into the weights that read it; "
            + "in a shortformer model the positions are added to the queries' and keys' input after that weight, so it cannot be folded and the rotation is refused.");

    /// <summary>Format: <c>[Patching] {0}: the clean input has {1} tokens and the corrupted one [{2}] has {3}; {4}</c>.</summary>
    public static readonly DiagnosticDescriptor PatchingInputLengths = new(
        id: "CDSL025",
        title: "Patching inputs of different lengths",
        messageFormat: "[Patching] {0}: the clean input has {1} tokens and the corrupted one [{2}] has {3}; {4}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Activation patching copies an activation position by position from the clean run into the corrupted "
            + "one, so both inputs need the same number of tokens, at least one and at most the model's n_ctx.");

    /// <summary>Format: <c>[Patching] {0}: {1} {2} is outside the vocabulary [0, {3}) of {4}</c>.</summary>
    public static readonly DiagnosticDescriptor PatchingTokenOutOfRange = new(
        id: "CDSL026",
        title: "Patching token outside the vocabulary",
        messageFormat: "[Patching] {0}: {1} {2} is outside the vocabulary [0, {3}) of {4}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Every token of the clean and corrupted inputs, the answer and the wrong token are ids in [0, d_vocab) "
            + "of the circuit's model.");

    /// <summary>Format: <c>[Patching] {0}: {1}</c> — the patched location does not fit <c>What</c>, the model or the input.</summary>
    public static readonly DiagnosticDescriptor PatchingLocation = new(
        id: "CDSL027",
        title: "Patched location that does not exist",
        messageFormat: "[Patching] {0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "ResidPre, AttnOut and MlpOut are patched at a Layer of the model (MlpOut only in a model with MLPs); "
            + "HeadOutput, HeadOutputByPosition and HeadPattern at a Head; a Position, when given, is one of the input's; "
            + "HeadOutputByPosition needs one.");

    /// <summary>Format: <c>[Patching] {0}: the answer and the wrong token are both {1}; their logit difference is always 0</c>.</summary>
    public static readonly DiagnosticDescriptor PatchingAnswerIsWrong = new(
        id: "CDSL028",
        title: "Patching answer equal to the wrong token",
        messageFormat: "[Patching] {0}: the answer and the wrong token are both {1}; their logit difference is always 0",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The patching metric is logit[Answer] − logit[Wrong] at the last position; with equal tokens it is 0 "
            + "on every run and cannot be normalised.");

    /// <summary>Format: <c>[Patching] {0}: the clean and corrupted inputs are the same tokens [{1}], so patching can change nothing</c>.</summary>
    public static readonly DiagnosticDescriptor PatchingSameInputs = new(
        id: "CDSL029",
        title: "Patching between identical inputs",
        messageFormat: "[Patching] {0}: the clean and corrupted inputs are the same tokens [{1}], so patching can change nothing",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The metric is normalised by the difference between the clean and the corrupted run; identical inputs "
            + "give the same run, so the claim could never be measured.");

    /// <summary>Format: <c>[TrainedOn] on {0}: {1}</c>, e.g. <c>Seeds = new[] { 0, 2, 2 }: seed 2 is listed twice</c>.</summary>
    public static readonly DiagnosticDescriptor InvalidSeeds = new(
        id: "CDSL030",
        title: "Invalid training seeds",
        messageFormat: "[TrainedOn] on {0}: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Seeds lists the seeds a model was trained on, each a run of the same recipe whose weights are in the "
            + "subfolder seed-S of Weights; every claim is checked on each. The list must not be empty, and its seeds must be "
            + "distinct and not negative; give Seeds or Seed, not both.");

    /// <summary>Format: <c>[{0}] on {1} asks to hold on {2} seeds, but {3}</c>.</summary>
    public static readonly DiagnosticDescriptor OnSeedsOutOfRange = new(
        id: "CDSL031",
        title: "A claim's number of seeds is out of range",
        messageFormat: "[{0}] on {1} asks to hold on {2} seeds, but {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "OnSeeds says on how many of the model's training seeds a claim must hold (0, the default, means all): "
            + "at least 1 and at most the number of seeds the model's [TrainedOn] lists.");

    /// <summary>Format: <c>[{0}] on {1}: Data = "{2}" {3}</c>, e.g. <c>Data = "../prompts.json" leaves the model's weights folder</c>.</summary>
    public static readonly DiagnosticDescriptor InvalidDataPath = new(
        id: "CDSL037",
        title: "A claim's data file is not a tokens file inside the weights folder",
        messageFormat: "[{0}] on {1}: Data = \"{2}\" {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Data names the tokens file an ablation or faithfulness claim is measured on, relative to the model's "
            + "[TrainedOn] Weights folder, which travels with the weights: a non-empty relative path, with '/' between folders, "
            + "without '..', ending in .json (a JSON array of token-id arrays).");

    /// <summary>Format: <c>[{0}] on {1} gives both Task and Data = "{2}"; the loss is measured on one of them</c>.</summary>
    public static readonly DiagnosticDescriptor TaskAndData = new(
        id: "CDSL038",
        title: "A claim gives both a task and a data file",
        messageFormat: "[{0}] on {1} gives both Task and Data = \"{2}\"; the loss is measured on one of them",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "An ablation or faithfulness claim is measured either on held-out samples of a task (Task) or on the "
            + "tokens of a file (Data); give exactly one.");

    /// <summary>Format: <c>[{0}] on {1}: Data = "{2}" is read from {3}'s [TrainedOn] Weights folder, but {3} has no valid [TrainedOn]</c>.</summary>
    public static readonly DiagnosticDescriptor DataWithoutModelCard = new(
        id: "CDSL039",
        title: "A claim's data file without the model's weights folder",
        messageFormat: "[{0}] on {1}: Data = \"{2}\" is read from {3}'s [TrainedOn] Weights folder, but {3} has no valid [TrainedOn]",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Data is relative to the folder the model's [TrainedOn] names in Weights; a model without a valid "
            + "[TrainedOn] has no such folder.");

    /// <summary>Format: <c>[{0}] on {1}: {2} {3}</c>, e.g. <c>SequenceLength = 64 is more than n_ctx − 1 = 63</c>.</summary>
    public static readonly DiagnosticDescriptor DetectionBatchOutOfRange = new(
        id: "CDSL040",
        title: "A claim's detection batch does not fit the model",
        messageFormat: "[{0}] on {1}: {2} {3}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A detector claim may set its own detection batch: Sequences, at least 1, and SequenceLength, from 2 "
            + "to n_ctx − 1, each sequence ⌈n/2⌉ distinct tokens (at most d_vocab) and the first ⌊n/2⌋ of them again. "
            + "0, the default, keeps the default batch's count or length.");
}
