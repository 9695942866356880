using System.Globalization;
using System.Text;

namespace CircuitDsl.Benchmarks;

/// <summary>
/// The generator benchmark's project: 50 spec files, each a <c>[Transformer]</c> model and a <c>[Circuit]</c> about it,
/// written the way a lab's spec project reads (specs/CircuitDsl.Specs), plus one file that holds no spec. Sizes vary
/// (0 to 4 layers, 1 to 12 heads, attention-only or with MLPs, every normalization, positional embedding and activation)
/// and together the circuits use every hypothesis kind, 1 to 16 of them each. The text is a function of the index
/// alone (a seeded <see cref="Random"/> per spec), so every run builds the same project.
/// </summary>
internal static class SpecProject
{
    public const int Count = 50;

    /// <summary>The spec the edit workload changes: a multi-layer model whose circuit claims every head kind.</summary>
    public const int EditedSpec = 17;

    public const string UnrelatedPath = "Lab/Statistics.cs";

    private static readonly string[] Topics =
    [
        "Induction", "Succession", "GreaterThan", "Parity", "Brackets", "Copying", "Bigrams", "NameMover", "Docstring",
        "Acronyms", "Sorting", "Modular", "Reversal", "Counting", "Retrieval", "Negation",
    ];

    private static readonly string[] Areas = ["InContext", "Arithmetic", "Syntax", "Memory"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Every file of the project, spec files first, as (path, text).</summary>
    public static IReadOnlyList<(string Path, string Text)> Files() =>
        [.. Enumerable.Range(0, Count).Select(i => (SpecPath(i), Spec(i))), (UnrelatedPath, Unrelated(edited: false))];

    public static string SpecPath(int index) => $"Lab/{Areas[index % Areas.Length]}/{ModelName(index)}.cs";

    /// <summary>The hint name of the file the generator writes for spec <paramref name="index"/>'s circuit.</summary>
    public static string CircuitHintName(int index) => $"Lab.{Areas[index % Areas.Length]}.{CircuitName(index)}.g.cs";

    /// <summary>The source of one spec file; <paramref name="edited"/> raises its first hypothesis's threshold by 0.01.</summary>
    public static string Spec(int index, bool edited = false)
    {
        var rng = new Random(1_000 + index);
        var layers = (index % 5) switch { 0 => 0, 1 => 1, _ => rng.Next(2, 5) };
        var heads = layers == 0 ? 0 : Pick(rng, 1, 2, 4, 8, 12);
        var dHead = Pick(rng, 8, 16, 32, 64);
        var dModel = layers == 0 ? Pick(rng, 32, 64, 128) : heads * dHead;
        var attentionOnly = layers <= 1 || rng.Next(3) != 0;
        var task = layers switch { 0 => TaskNames.Bigram, 1 => TaskNames.SkipTrigram, _ => TaskNames.RepeatedTokens };
        var model = ModelName(index);

        var arguments = new List<string>
        {
            $"NLayers = {layers}",
        };
        if (layers > 0)
        {
            arguments.Add($"NHeads = {heads}");
        }

        arguments.Add($"DModel = {dModel}");
        if (layers > 0)
        {
            arguments.Add($"DHead = {dHead}");
        }

        arguments.Add($"DVocab = {Pick(rng, 64, 128, 512, 2048, 50257)}");
        arguments.Add($"NCtx = {Pick(rng, 32, 64, 128, 256, 1024)}");
        if (attentionOnly)
        {
            arguments.Add("AttnOnly = true");
        }
        else
        {
            arguments.Add($"DMlp = {4 * dModel}");
            arguments.Add($"ActFn = ActivationFunction.{Pick(rng, "Gelu", "GeluNew", "Relu")}");
        }

        arguments.Add($"NormalizationType = Normalization.{(layers <= 1 ? "None" : Pick(rng, "LN", "LNPre", "None"))}");
        if (rng.Next(3) == 0)
        {
            arguments.Add("PositionalEmbeddingType = PositionalEmbedding.Shortformer");
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $$"""
            using CircuitDsl;
            using CircuitDsl.Reports;

            namespace Lab.{{Areas[index % Areas.Length]}};

            /// <summary>
            /// A {{layers}}-layer model of the {{Topics[index % Topics.Length]}} experiments (run {{index}}), trained on the
            /// {{task}} task.
            /// </summary>
            [Transformer({{string.Join(", ", arguments)}})]
            [TrainedOn("{{task}}", Steps = {{500 * rng.Next(1, 9)}}, Seed = {{index}}, Weights = "weights/{{model.ToLowerInvariant()}}")]
            public sealed partial class {{model}};

            /// <summary>What the {{Topics[index % Topics.Length]}} run {{index}} model is claimed to do, head by head.</summary>
            [Circuit(typeof({{model}}), Paper = "A Mathematical Framework for Transformer Circuits")]
            public static partial class {{CircuitName(index)}}
            {

            """);
        var claims = new HashSet<string>();
        var count = layers == 0 ? 1 : rng.Next(4, 17);
        for (var attempt = 0; claims.Count < count && attempt < 20 * count; attempt++)
        {
            var bump = edited && claims.Count == 0 ? 0.01 : 0;
            if (Hypothesis(rng, attempt, layers, heads, dModel, task, bump) is { } h && claims.Add(h.Claim))
            {
                text.Append(claims.Count > 1 ? "\n" : "");
                text.Append(CultureInfo.InvariantCulture, $"""
                        /// <summary>{h.Prose}</summary>
                        [{h.Attribute}]
                        public static partial Evidence Claim{claims.Count:00}({model} model);

                    """);
            }
        }

        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>A file with no spec in it; <paramref name="edited"/> adds a comment.</summary>
    public static string Unrelated(bool edited) => $$"""
        using System.Collections.Generic;

        namespace Lab;

        /// <summary>Statistics the lab's notebooks share.</summary>
        public static class Statistics
        {
            /// <summary>The mean of some scores.</summary>
            public static double Mean(IReadOnlyList<double> scores)
            {
                {{(edited ? "// An empty list has no mean: the caller checks." : "")}}
                var sum = 0.0;
                foreach (var score in scores)
                {
                    sum += score;
                }

                return sum / scores.Count;
            }
        }
        """;

    private static string ModelName(int index) => $"{Topics[index % Topics.Length]}Run{index:00}";

    private static string CircuitName(int index) => $"{Topics[index % Topics.Length]}Circuit{index:00}";

    /// <summary>
    /// One candidate hypothesis, valid for the model: its attribute, its prose, and the claim it makes (two hypotheses
    /// with one claim are an error, CDSL009, so the caller skips a repeated claim). The kinds take turns by
    /// <paramref name="turn"/>; kinds the model cannot have (composition in one layer, skip-trigrams off their task)
    /// give null.
    /// </summary>
    private static (string Attribute, string Prose, string Claim)? Hypothesis(
        Random rng, int turn, int layers, int heads, int dModel, string task, double bump)
    {
        if (layers == 0)
        {
            return ($"DirectPathBigrams(AtLeast = {Number(0.8 + bump)}, Paper = \"Zero-Layer Transformers\")",
                "The direct path W_E W_U is the bigram table of the chain the model was trained on.", "bigrams");
        }

        string Head(int layer) => $"{layer}.{rng.Next(heads)}";
        double Threshold(double low, double high) => Math.Round(low + (rng.NextDouble() * (high - low)), 2) + bump;
        switch (turn % 8)
        {
            case 0:
            {
                var head = Head(0);
                return ($"PreviousTokenHead(\"{head}\", AtLeast = {Number(Threshold(0.5, 0.95))})",
                    $"Head {head} attends to the token just before the current one.", $"previous {head}");
            }

            case 1:
            {
                var head = Head(layers - 1);
                return ($"InductionHead(\"{head}\", AtLeast = {Number(Threshold(0.4, 0.95))}, Paper = \"Induction Heads\")",
                    $"Head {head} attends to the token after an earlier copy of the current one.", $"induction {head}");
            }

            case 2:
            {
                var head = Head(rng.Next(layers));
                return ($"DuplicateTokenHead(\"{head}\", AtLeast = {Number(Threshold(0.2, 0.8))})",
                    $"Head {head} attends to earlier copies of the current token.", $"duplicate {head}");
            }

            case 3:
            {
                var head = Head(rng.Next(layers));
                return ($"CopyingHead(\"{head}\", AtLeast = {Number(Threshold(-0.2, 0.95))})",
                    $"Head {head}'s OV circuit copies: its eigenvalues are mostly positive.", $"copying {head}");
            }

            case 4:
            {
                if (layers < 2)
                {
                    return null;
                }

                var layer = rng.Next(1, layers);
                string to = Head(layer), from = Head(rng.Next(layer));
                var via = Pick(rng, "Q", "K", "V");
                var baseline = rng.Next(2) == 0;
                var bound = rng.Next(3) == 0 ? "AtMost" : "AtLeast";
                var threshold = baseline ? Threshold(0.5, Math.Min(3, Math.Sqrt(dModel)) - 0.01) : Threshold(0.05, 0.6);
                var units = baseline ? ", InBaselineUnits = true" : "";
                return ($"Composes(\"{to}\", Via = CompositionKind.{via}, From = \"{from}\", {bound} = {Number(threshold)}{units})",
                    $"Head {to}'s {via} input {(bound == "AtLeast" ? "reads" : "does not read")} what head {from} wrote.",
                    $"composes {to} {from} {via} {bound}");
            }

            case 5:
            {
                var head = Head(rng.Next(layers));
                return ($"Ablation(\"{head}\", Task = \"{TaskNames.RepeatedTokens}\", RaisesLossBy = {Number(Threshold(0.1, 2))})",
                    $"Mean-ablating head {head} costs the model on repeated tokens.", $"ablation {head}");
            }

            case 6:
            {
                var chosen = Enumerable.Range(0, rng.Next(2, 6)).Select(_ => Head(rng.Next(layers))).Distinct().Order(StringComparer.Ordinal).ToList();
                var list = string.Join(", ", chosen.Select(h => $"\"{h}\""));
                return ($"Faithfulness({list}, Task = \"{TaskNames.RepeatedTokens}\", Recovers = {Number(Threshold(0.5, 0.95))})",
                    $"Heads {string.Join(", ", chosen)} alone recover most of the loss on repeated tokens.", $"faithful {string.Join(" ", chosen)}");
            }

            default:
            {
                if (task != TaskNames.SkipTrigram)
                {
                    return null;
                }

                var head = Head(0);
                return ($"SkipTrigrams(\"{head}\", AtLeast = {Number(Threshold(0.2, 0.9))}, Paper = \"Skip-Trigrams\")",
                    $"Most planted skip-trigrams A … B → C are among head {head}'s strongest.", $"skip-trigrams {head}");
            }
        }
    }

    private static T Pick<T>(Random rng, params T[] choices) => choices[rng.Next(choices.Length)];

    private static string Number(double value) => value.ToString("0.0##", Inv);
}
