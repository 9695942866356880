using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>Each diagnostic: its id, its whole message, and the line and column of the argument it blames.</summary>
public sealed class DiagnosticTests
{
    // Toy2L has 2 layers of 3 heads and d_model 64 (sqrt = 8).
    // Each hypothesis gets a doc comment (its claim) unless `documented` is false.
    private static string Circuit(string hypotheses, string model = "Toy2L", string modifiers = "public static partial", bool documented = true) => $$"""
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        [Circuit(typeof({{model}}))]
        {{modifiers}} class Induction
        {
        {{(documented ? Documented(hypotheses) : hypotheses)}}
        }
        """;

    private static string Documented(string hypotheses)
    {
        var lines = hypotheses.Split('\n');
        var result = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var firstAttribute = lines[i].TrimStart().StartsWith('[') && (i == 0 || !lines[i - 1].TrimStart().StartsWith('['));
            if (firstAttribute)
            {
                result.Add("    /// <summary>A claim.</summary>");
            }

            result.Add(lines[i]);
        }

        return string.Join("\n", result);
    }

    [Fact]
    public void CDSL001_malformed_head_id()
    {
        var source = Circuit("""
                [PreviousTokenHead("1,4", AtLeast = 0.5)]
                public static partial Evidence Previous(Toy2L model);
            """);
        ExpectSingle(source, "CDSL001", "'1,4' is not a head id: it has no '.'; write layer.head, like \"1.4\".", "\"1,4\"");
    }

    [Theory]
    [InlineData("\"0.02\"", "'0.02' is not a head id: the head has a leading zero; write \"0.2\".")]
    [InlineData("\"1.x\"", "'1.x' is not a head id: 'x' is neither a head index nor a role (roles: previous-token, duplicate-token, induction, copying).")]
    [InlineData("\"1.-1\"", "'1.-1' is not a head id: the head '-1' is not a non-negative whole number; write layer.head, like \"1.4\".")]
    [InlineData("\"1.2.3\"", "'1.2.3' is not a head id: it has more than one '.'; write layer.head, like \"1.4\".")]
    [InlineData("\"\"", "A head id is empty; write it as layer.head, like \"1.4\".")]
    [InlineData("null", "A head id is empty; write it as layer.head, like \"1.4\".")]
    public void CDSL001_malformed_head_id_variants(string head, string message)
    {
        var source = Circuit($$"""
                [InductionHead({{head}}, AtLeast = 0.5)]
                public static partial Evidence Induction11(Toy2L model);
            """);
        ExpectSingle(source, "CDSL001", message, head);
    }

    [Fact]
    public void CDSL001_in_composition_From_points_at_From()
    {
        var source = Circuit("""
                [Composes("1.1", Via = CompositionKind.K, From = "0-2", AtLeast = 0.2)]
                public static partial Evidence K(Toy2L model);
            """);
        ExpectSingle(source, "CDSL001", "'0-2' is not a head id: it has no '.'; write layer.head, like \"1.4\".", "\"0-2\"");
    }

    [Theory]
    [InlineData("\"2.0\"")]
    [InlineData("\"1.3\"")]
    public void CDSL002_head_out_of_range(string head)
    {
        var source = Circuit($$"""
                [PreviousTokenHead({{head}}, AtLeast = 0.5)]
                public static partial Evidence Previous(Toy2L model);
            """);
        ExpectSingle(source, "CDSL002", $"Head {head.Trim('"')} is not in Toy2L: it has 2 layers of 3 heads, 0.0 to 1.2", head);
    }

    [Fact]
    public void CDSL002_faithfulness_head_out_of_range_points_at_that_head()
    {
        var source = Circuit("""
                [Faithfulness("0.2", "5.1", Task = "repeated-tokens", Recovers = 0.8)]
                public static partial Evidence Faithful(Toy2L model);
            """);
        ExpectSingle(source, "CDSL002", "Head 5.1 is not in Toy2L: it has 2 layers of 3 heads, 0.0 to 1.2", "\"5.1\"");
    }

    [Theory]
    [InlineData("\"1.0\"", "1.0 is in layer 1, which is not before layer 1")]
    [InlineData("\"1.2\"", "1.2 is in layer 1, which is not before layer 1")]
    public void CDSL003_composition_from_a_head_not_in_an_earlier_layer(string from, string why)
    {
        var source = Circuit($$"""
                [Composes("1.1", Via = CompositionKind.K, From = {{from}}, AtLeast = 0.2)]
                public static partial Evidence K(Toy2L model);
            """);
        ExpectSingle(source, "CDSL003", $"Head 1.1 cannot read from head {from.Trim('"')} by composition: {why}", from);
    }

    [Fact]
    public void CDSL003_composition_into_layer_0()
    {
        var source = Circuit("""
                [Composes("0.1", Via = CompositionKind.V, From = "1.1", AtMost = 0.2)]
                public static partial Evidence V(Toy2L model);
            """);
        ExpectSingle(source, "CDSL003", "Head 0.1 cannot read from head 1.1 by composition: 1.1 is in layer 1, which is not before layer 0", "\"1.1\"");
    }

    [Theory]
    [InlineData("[PreviousTokenHead(\"0.2\", AtLeast = 1.5)]", "1.5", "AtLeast = 1.5 is outside [0, 1], the range of a previous-token score")]
    [InlineData("[DuplicateTokenHead(\"0.2\", AtLeast = -0.1)]", "-0.1", "AtLeast = -0.1 is outside [0, 1], the range of a duplicate-token score")]
    [InlineData("[InductionHead(\"1.1\", AtLeast = double.NaN)]", "double.NaN", "AtLeast = NaN is outside [0, 1], the range of an induction score")]
    [InlineData("[CopyingHead(\"1.1\", AtLeast = -1.5)]", "-1.5", "AtLeast = -1.5 is outside [-1, 1], the range of a copying score")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, From = \"0.2\", AtLeast = 2)]", "2",
        "AtLeast = 2 is outside [0, 1], the range of a composition score (a multiple of the random baseline 1/sqrt(d_model) needs InBaselineUnits = true)")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, From = \"0.2\", AtLeast = 9)]", "9", "AtLeast = 9 is outside [0, 1], the range of a composition score")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, From = \"0.2\", AtMost = 9, InBaselineUnits = true)]", "9",
        "AtMost = 9 is outside [0, 8] (up to sqrt(d_model) = sqrt(64)), the range of a composition score in baseline units")]
    [InlineData("[Ablation(\"1.1\", Task = \"repeated-tokens\", RaisesLossBy = 0)]", "0", "RaisesLossBy = 0 is outside (0, ∞), the range of a loss increase")]
    [InlineData("[Ablation(\"1.1\", Task = \"repeated-tokens\", RaisesLossByAtMost = -1)]", "-1",
        "RaisesLossByAtMost = -1 is outside (0, ∞), the range of a loss increase")]
    [InlineData("[InductionHead(\"1.1\", AtMost = 5)]", "5", "AtMost = 5 is outside [0, 1], the range of an induction score")]
    [InlineData("[CopyingHead(\"1.1\", AtMost = -2)]", "-2", "AtMost = -2 is outside [-1, 1], the range of a copying score")]
    [InlineData("[Faithfulness(\"0.2\", Task = \"repeated-tokens\", RecoversAtMost = 1.5)]", "1.5",
        "RecoversAtMost = 1.5 is outside [0, 1], the range of a recovered fraction of the loss")]
    [InlineData("[Faithfulness(\"0.2\", \"1.1\", Task = \"repeated-tokens\", Recovers = 1.2)]", "1.2", "Recovers = 1.2 is outside [0, 1], the range of a recovered fraction of the loss")]
    public void CDSL004_threshold_outside_its_range(string attribute, string value, string message)
    {
        var source = Circuit($$"""
                {{attribute}}
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, "CDSL004", message, "= " + value, offset: 2);
    }

    [Fact]
    public void CDSL005_circuit_model_without_transformer()
    {
        var source = Circuit("""
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                public static partial Evidence Previous(NotAModel model);
            """, model: "NotAModel") + "\npublic sealed class NotAModel;\n";
        ExpectSingle(source, "CDSL005", "Circuit Induction is about NotAModel, which has no [Transformer] attribute", "typeof(NotAModel)");
    }

    [Theory]
    [InlineData("NLayers = 1, NHeads = 2, DModel = 0, DHead = 4, DVocab = 10, NCtx = 8, AttnOnly = true", "0, DHead", "DModel must be positive, not 0")]
    [InlineData("NLayers = -1, DModel = 8, DVocab = 10, NCtx = 8", "-1", "NLayers must not be negative, not -1")]
    [InlineData("NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, AttnOnly = true, DMlp = 32", "32",
        "DMlp = 32 must not be given: an attention-only model has no MLP")]
    [InlineData("NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, AttnOnly = false", "false",
        "a model with MLPs needs DMlp; give DMlp, or set AttnOnly = true")]
    [InlineData("NLayers = 1, NHeads = 2, DModel = 8, DVocab = 10, NCtx = 8, AttnOnly = true", "Transformer(",
        "DHead must be given (a positive number)")]
    [InlineData("NLayers = 1, NHeads = 100000, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, AttnOnly = true", "100000",
        "NHeads = 100000 is more than the 256 the generator emits typed members for")]
    [InlineData("NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 10, NCtx = 8, AttnOnly = true, NormalizationType = (Normalization)7",
        "(Normalization)7", "NormalizationType = 7 is not a defined Normalization value")]
    public void CDSL006_impossible_architecture(string arguments, string marker, string message)
    {
        var source = $$"""
            using CircuitDsl;

            namespace Specs;

            [Transformer({{arguments}})]
            public sealed partial class Bad;
            """;
        var run = GeneratorHarness.Run(source);
        ExpectSingle(run, source, "CDSL006", "[Transformer] on Bad: " + message, marker, fileIndex: 0);
        run.Sources.Should().BeEmpty("an impossible architecture is not emitted");
    }

    [Theory]
    [InlineData("public static class Induction", "a static partial class declared directly in a namespace (not nested, not generic)")]
    [InlineData("public partial class Induction", "a static partial class declared directly in a namespace (not nested, not generic)")]
    public void CDSL007_circuit_class_of_the_wrong_shape(string declaration, string shape)
    {
        var source = Circuit("""
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                public static partial Evidence Previous(Toy2L model);
            """, modifiers: declaration.Replace(" class Induction", "", StringComparison.Ordinal));
        ExpectSingle(source, "CDSL007", "Induction must be " + shape, "Induction\n");
    }

    [Theory]
    [InlineData("public sealed class Plain;", "Plain;")]
    [InlineData("public static partial class Plain;", "Plain;")]
    [InlineData("public sealed partial class Plain<T>;", "Plain<T>")]
    [InlineData("public partial record Plain;", "Plain;")]
    [InlineData("public partial class Plain : System.Exception;", "Plain :")]
    public void CDSL007_model_class_of_the_wrong_shape(string declaration, string marker)
    {
        var source = $$"""
            using CircuitDsl;

            namespace Specs;

            [Transformer(NLayers = 0, DModel = 8, DVocab = 10, NCtx = 8)]
            {{declaration}}
            """;
        var run = GeneratorHarness.Run(source);
        ExpectSingle(run, source, "CDSL007",
            "Plain must be a non-static partial class declared directly in a namespace (not nested, not generic, without a base class)", marker, fileIndex: 0);
    }

    [Theory]
    [InlineData("public static Evidence Previous(Toy2L model) => null!;", "it is not partial")]
    [InlineData("public partial Evidence Previous(Toy2L model);", "it is not static")]
    [InlineData("public static partial string Previous(Toy2L model);", "it returns string, not CircuitDsl.Reports.Evidence")]
    [InlineData("public static partial Evidence Previous();", "it takes 0 parameters, not one")]
    [InlineData("public static partial Evidence Previous(Toy2L model, int x);", "it takes 2 parameters, not one")]
    [InlineData("public static partial Evidence Previous(Toy1L model);", "its parameter is Specs.Toy1L, not Toy2L")]
    [InlineData("public static partial Evidence Previous(ref Toy2L model);", "its parameter must be a plain value parameter")]
    [InlineData("public static partial Evidence Previous<T>(Toy2L model);", "it is generic")]
    [InlineData("public static partial Evidence Previous(Toy2L model) => null!;",
        "it has a body; the generator writes it (a value your own code measures is a [Measured] claim)")]
    public void CDSL008_hypothesis_method_of_the_wrong_shape(string declaration, string problem)
    {
        var source = Circuit($$"""
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                {{declaration}}
            """);
        ExpectSingle(source, "CDSL008",
            $"Hypothesis Previous must be declared 'static partial Evidence Previous(Toy2L model)': {problem}", " Previous", offset: 1);
    }

    [Fact]
    public void CDSL009_duplicate_hypothesis()
    {
        var source = Circuit("""
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                public static partial Evidence Previous(Toy2L model);

                [PreviousTokenHead("0.2", AtLeast = 0.9)]
                public static partial Evidence AlsoPrevious(Toy2L model);
            """);
        ExpectSingle(source, "CDSL009", "Hypothesis AlsoPrevious repeats the claim of Previous: PreviousTokenHead 0.2",
            "PreviousTokenHead", occurrence: 2);
    }

    [Fact]
    public void CDSL009_composition_claims_differ_by_kind_and_bound_but_not_by_threshold()
    {
        var source = Circuit("""
                [Composes("1.1", Via = CompositionKind.K, From = "0.2", AtLeast = 0.3)]
                public static partial Evidence K(Toy2L model);

                [Composes("1.1", Via = CompositionKind.Q, From = "0.2", AtLeast = 0.3)]
                public static partial Evidence Q(Toy2L model);

                [Composes("1.1", Via = CompositionKind.K, From = "0.2", AtMost = 0.9)]
                public static partial Evidence KAtMost(Toy2L model);

                [Composes("1.1", Via = CompositionKind.K, From = "0.2", AtLeast = 3, InBaselineUnits = true)]
                public static partial Evidence KAgain(Toy2L model);
            """);
        ExpectSingle(source, "CDSL009", "Hypothesis KAgain repeats the claim of K: Composes 1.1 from 0.2 via K (AtLeast)",
            "Composes", occurrence: 4);
    }

    [Theory]
    [InlineData("[PreviousTokenHead(\"0.2\")]", "PreviousTokenHead", "AtLeast or AtMost, the threshold (in [0, 1]) that supports the claim")]
    [InlineData("[InductionHead(\"1.1\", AtLeast = 0.5, AtMost = 0.6)]", "InductionHead", "exactly one of AtLeast and AtMost, not both")]
    [InlineData("[Ablation(\"1.1\", Task = \"repeated-tokens\", RaisesLossBy = 1, RaisesLossByAtMost = 2)]", "Ablation",
        "exactly one of RaisesLossBy and RaisesLossByAtMost, not both")]
    [InlineData("[Faithfulness(\"1.1\", Task = \"repeated-tokens\")]", "Faithfulness",
        "Recovers or RecoversAtMost, the threshold (in [0, 1]) that supports the claim")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, AtLeast = 0.2)]", "Composes",
        "From, the earlier head whose output is read (e.g. From = \"0.2\")")]
    [InlineData("[Composes(\"1.1\", From = \"0.2\", AtLeast = 0.2)]", "Composes", "Via, the input that reads: CompositionKind.Q, K or V")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, From = \"0.2\", AtLeast = 0.2, AtMost = 0.5)]", "Composes",
        "exactly one of AtLeast and AtMost, not both")]
    [InlineData("[Composes(\"1.1\", Via = CompositionKind.K, From = \"0.2\")]", "Composes",
        "a threshold: AtLeast (they compose) or AtMost (they do not)")]
    [InlineData("[Ablation(\"1.1\", RaisesLossBy = 1)]", "Ablation",
        "Task, the task the loss is measured on (e.g. Task = \"repeated-tokens\"), or Data, a tokens file in the weights folder")]
    [InlineData("[Faithfulness(Task = \"repeated-tokens\", Recovers = 0.5)]", "Faithfulness",
        "at least one head, e.g. [Faithfulness(\"0.2\", \"1.1\", ...)]")]
    public void CDSL010_missing_argument(string attribute, string kind, string needs)
    {
        var source = Circuit($$"""
                {{attribute}}
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, "CDSL010", $"[{kind}] on Claim needs {needs}", kind);
    }

    [Theory]
    [InlineData("Ablation(\"1.1\", Task = \"repeated_tokens\", RaisesLossBy = 1", "Ablation", "\"repeated_tokens\"", "repeated_tokens")]
    [InlineData("Faithfulness(\"1.1\", Task = TaskNames.Bigram, Recovers = 0.5", "Faithfulness", "TaskNames.Bigram", "bigram")]
    public void CDSL010_task_whose_loss_the_runtime_cannot_measure(string attribute, string kind, string marker, string task)
    {
        var source = Circuit($$"""
                [{{attribute}})]
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, "CDSL010", $"[{kind}] on Claim needs Task to be a task whose loss it can measure (known: repeated-tokens), not '{task}'",
            marker);
    }

    [Fact]
    public void CDSL010_faithfulness_head_listed_twice_points_at_the_repeat()
    {
        var source = Circuit("""
                [Faithfulness("0.2", "1.1", "0.2", Task = "repeated-tokens", Recovers = 0.8)]
                public static partial Evidence Faithful(Toy2L model);
            """);
        ExpectSingle(source, "CDSL010", "[Faithfulness] on Faithful needs each head once (0.2 is listed twice)", "\"0.2\"", occurrence: 2);
    }

    [Theory]
    [InlineData("[Measured(Unit = \"nats\")]", "AtLeast or AtMost, the threshold (in (-∞, ∞)) that supports the claim")]
    [InlineData("[Measured(AtLeast = 1, AtMost = 2)]", "exactly one of AtLeast and AtMost, not both")]
    public void CDSL010_measured_claim_needs_exactly_one_bound(string attribute, string needs)
    {
        var source = Circuit($$"""
                {{attribute}}
                public static double Loss(Toy2L model) => 2.0;
            """);
        ExpectSingle(source, "CDSL010", $"[Measured] on Loss needs {needs}", "Measured");
    }

    [Theory]
    [InlineData("double.PositiveInfinity", "AtMost = Infinity is outside (-∞, ∞), the range of a measured value")]
    [InlineData("double.NaN", "AtMost = NaN is outside (-∞, ∞), the range of a measured value")]
    public void CDSL004_measured_claim_bound_must_be_finite(string bound, string message)
    {
        var source = Circuit($$"""
                [Measured(AtMost = {{bound}})]
                public static double Loss(Toy2L model) => 2.0;
            """);
        ExpectSingle(source, "CDSL004", message, bound);
    }

    [Theory]
    [InlineData("public double Loss(Toy2L model) => 2.0;", "it is not static")]
    [InlineData("public static partial double Loss(Toy2L model);", "it has no body; write the code that measures the value")]
    [InlineData("public static double Loss<T>(Toy2L model) => 2.0;", "it is generic")]
    [InlineData("public static Evidence Loss(Toy2L model) => null!;", "it returns CircuitDsl.Reports.Evidence, not double or float")]
    [InlineData("public static int Loss(Toy2L model) => 2;", "it returns int, not double or float")]
    [InlineData("public static double Loss() => 2.0;", "it takes 0 parameters, not one")]
    [InlineData("public static double Loss(Toy1L model) => 2.0;", "its parameter is Specs.Toy1L, not Toy2L")]
    public void CDSL016_measured_claim_method_of_the_wrong_shape(string declaration, string problem)
    {
        var source = Circuit($$"""
                [Measured(AtMost = 2.5, Unit = "nats")]
                {{declaration}}
            """);
        ExpectSingle(source, "CDSL016",
            $"[Measured] Loss must be declared 'static double Loss(Toy2L model)' with a body that measures the value: {problem}", " Loss", offset: 1);
    }

    [Fact]
    public void CDSL009_an_upper_and_a_lower_bound_on_one_score_are_two_claims_and_two_upper_bounds_repeat()
    {
        var source = Circuit("""
                [InductionHead("1.1", AtLeast = 0.3)]
                public static partial Evidence Induction(Toy2L model);

                [InductionHead("1.1", AtMost = 0.9)]
                public static partial Evidence NotTooMuch(Toy2L model);

                [InductionHead("1.1", AtMost = 0.8)]
                public static partial Evidence NotTooMuchAgain(Toy2L model);
            """);
        ExpectSingle(source, "CDSL009", "Hypothesis NotTooMuchAgain repeats the claim of NotTooMuch: InductionHead 1.1 (AtMost)",
            "InductionHead", occurrence: 3);
    }

    [Fact]
    public void CDSL011_more_than_one_hypothesis_on_a_method()
    {
        var source = Circuit("""
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                [InductionHead("1.1", AtLeast = 0.5)]
                public static partial Evidence Both(Toy2L model);
            """);
        ExpectSingle(source, "CDSL011", "Both has more than one hypothesis attribute ([PreviousTokenHead], [InductionHead]); give each claim its own method", "InductionHead");
    }

    [Fact]
    public void CDSL012_hypothesis_without_prose_is_a_warning_and_still_generated()
    {
        var source = Circuit("""
                // A comment, but no doc comment.
                [PreviousTokenHead("0.2", AtLeast = 0.5)]
                public static partial Evidence Previous(Toy2L model);
            """, documented: false);
        var run = GeneratorHarness.Run(SpecSources.TwoLayer, source);
        ExpectSingle(run, source, "CDSL012",
            "Hypothesis Previous has no /// <summary>: reports and documentation show it as the claim in prose", "Previous(", fileIndex: 1,
            severity: DiagnosticSeverity.Warning);
        run.Sources["Specs.Induction.g.cs"].Should().Contain("static partial global::CircuitDsl.Reports.Evidence Previous(");
    }

    [Theory]
    [InlineData("\"bigrams\", Steps = 10, Weights = \"w\"", "\"bigrams\"",
        "'bigrams' is not a training task (known: bigram, skip-trigram, repeated-tokens, markov-repeats, reversal)")]
    [InlineData("\"bigram\", Weights = \"w\"", "TrainedOn(", "Steps must be given (the number of optimizer steps the weights were trained for)")]
    [InlineData("\"bigram\", Steps = 0, Weights = \"w\"", "0, Weights", "Steps must be positive, not 0")]
    [InlineData("\"bigram\", Steps = 10, Seed = -1, Weights = \"w\"", "-1", "Seed must not be negative, not -1")]
    [InlineData("\"bigram\", Steps = 10", "TrainedOn(",
        "Weights must name the model folder, relative to the spec assembly (e.g. Weights = \"weights/induction-2l\")")]
    [InlineData("\"bigram\", Steps = 10, Weights = \"w\", LearningRate = -0.1", "-0.1", "LearningRate, when given, must be a positive number, not -0.1")]
    [InlineData("\"bigram\", Steps = 10, Weights = \"w\", BatchSize = 0", "0)]", "BatchSize, when given, must be positive, not 0")]
    public void CDSL013_invalid_model_card(string arguments, string marker, string message)
    {
        var source = Carded(arguments);
        var run = GeneratorHarness.Run(source);
        ExpectSingle(run, source, "CDSL013", "[TrainedOn] on Carded: " + message, marker, fileIndex: 0);
        run.Sources.Should().ContainKey("Specs.Carded.g.cs", "the model card does not stop the model from being emitted");
    }

    [Theory]
    [InlineData("Seeds = new[] { 0, 3, 3 }", "new[]", "Seeds = new[] { 0, 3, 3 }: seed 3 is listed twice")]
    [InlineData("Seeds = new[] { 1, -2 }", "new[]", "Seeds = new[] { 1, -2 }: a seed must not be negative, not -2")]
    [InlineData("Seeds = new int[0]", "new int", "Seeds = new int[0]: the list is empty; list the seeds the weights were trained on, e.g. Seeds = new[] { 0, 1, 2, 3, 4 }")]
    [InlineData("Seed = 2, Seeds = new[] { 2, 3 }", "new[]", "Seeds = new[] { 2, 3 }: give Seeds or Seed, not both (Seed names the one seed of a model trained once)")]
    public void CDSL030_invalid_seeds(string seeds, string marker, string message)
    {
        var source = Carded($"\"bigram\", Steps = 10, {seeds}, Weights = \"w\"");
        var run = GeneratorHarness.Run(source);
        ExpectSingle(run, source, "CDSL030", "[TrainedOn] on Carded: " + message, marker, fileIndex: 0);
    }

    [Theory]
    [InlineData("[TrainedOn(\"repeated-tokens\", Steps = 10, Seeds = new[] { 0, 1, 2 }, Weights = \"w\")]", 4, "Toy1L is trained on 3 seeds")]
    [InlineData("[TrainedOn(\"repeated-tokens\", Steps = 10, Seeds = new[] { 0, 1, 2 }, Weights = \"w\")]", -1, "a claim holds on at least one seed (leave OnSeeds out for all of them)")]
    [InlineData("", 2, "Toy1L is trained on 1 seed")]
    public void CDSL031_on_seeds_out_of_range(string card, int onSeeds, string why)
    {
        var model = $$"""
            using CircuitDsl;

            namespace Specs;

            [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 50, NCtx = 16, AttnOnly = true)]
            {{card}}
            public sealed partial class Toy1L;
            """;
        var source = Circuit($$"""
                [PreviousTokenHead("0.1", AtLeast = 0.5, OnSeeds = {{onSeeds}})]
                public static partial Evidence Previous(Toy1L model);
            """, model: "Toy1L");
        var run = GeneratorHarness.Run(model, source);
        ExpectSingle(run, source, "CDSL031", $"[PreviousTokenHead] on Previous asks to hold on {onSeeds} seeds, but {why}",
            $"{onSeeds})]", fileIndex: 1);
    }

    [Theory]
    [InlineData("", "Toy1L has no valid [TrainedOn(\"skip-trigram\", ...)] saying which seed drew it")]
    [InlineData("[TrainedOn(\"repeated-tokens\", Steps = 10, Weights = \"w\")]", "Toy1L is [TrainedOn(\"repeated-tokens\")]")]
    public void CDSL014_planted_structure_needs_the_models_training_task(string card, string why)
    {
        var model = $$"""
            using CircuitDsl;

            namespace Specs;

            [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 50, NCtx = 16, AttnOnly = true)]
            {{card}}
            public sealed partial class Toy1L;
            """;
        var source = Circuit("""
                [SkipTrigrams("0.1", AtLeast = 0.5)]
                public static partial Evidence Skip(Toy1L model);
            """, model: "Toy1L");
        var run = GeneratorHarness.Run(model, source);
        ExpectSingle(run, source, "CDSL014",
            "[SkipTrigrams] on Skip compares the head's skip-trigrams with what the 'skip-trigram' task planted, but " + why,
            "SkipTrigrams(", fileIndex: 1);
    }

    [Fact]
    public void CDSL035_rotating_the_neurons_of_a_model_without_MLPs()
    {
        var source = Circuit("""
                [Rotated(Seed = 1, Neurons = true, AtLeast = 0.01)]
                public static partial Evidence NeuronsArePrivileged(Toy2L model);
            """);
        ExpectSingle(source, "CDSL035",
            "[Rotated] on NeuronsArePrivileged sets Neurons = true, but Toy2L has no MLP neurons to rotate; rotate its residual stream or head bases instead",
            "true");
    }

    [Fact]
    public void CDSL036_rotating_the_residual_stream_of_a_shortformer_with_LayerNorm_weights()
    {
        var model = """
            using CircuitDsl;

            namespace Specs;

            [Transformer(NLayers = 1, NHeads = 1, DModel = 16, DHead = 8, DVocab = 20, NCtx = 8, AttnOnly = true,
                         NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Shortformer)]
            public sealed partial class Short1L;
            """;
        var source = Circuit("""
                [Rotated(Seed = 1, AtMost = 1e-4)]
                public static partial Evidence Unchanged(Short1L model);

                [Rotated(Seed = 1, HeadBases = true, AtMost = 1e-4)]
                public static partial Evidence HeadsUnchanged(Short1L model);
            """, model: "Short1L");
        var run = GeneratorHarness.Run(model, source);
        ExpectSingle(run, source, "CDSL036",
            "[Rotated] on Unchanged rotates the residual stream of Short1L, a shortformer model with LayerNorm weights (LN), which cannot be rotated: "
            + "its positions join the queries' and keys' input after LayerNorm's weight, which therefore cannot be folded; claim HeadBases = true instead, or use LNPre",
            "Rotated(", fileIndex: 1);
    }

    [Theory]
    [InlineData("Data = \"\"", "is empty: name a tokens file in the model's weights folder, e.g. Data = \"data/prompts.json\"")]
    [InlineData("Data = \"/home/me/p.json\"", "is an absolute path: write it relative to the model's [TrainedOn] Weights folder, which travels with the weights")]
    [InlineData("Data = \"C:/p.json\"", "is an absolute path: write it relative to the model's [TrainedOn] Weights folder, which travels with the weights")]
    [InlineData("Data = @\"data\\p.json\"", "separates folders with '\\': write '/', which every system reads")]
    [InlineData("Data = \"data/../../p.json\"", "leaves the model's weights folder by '..': the file must be inside it, to travel with the weights")]
    [InlineData("Data = \"p.txt\"", "is not a .json file: Data is a tokens file, a JSON array of token-id arrays")]
    public void CDSL037_a_data_file_that_is_no_tokens_file_inside_the_weights_folder(string data, string why)
    {
        var path = data[(data.IndexOf('"', StringComparison.Ordinal) + 1)..^1].Replace(@"\\", @"\", StringComparison.Ordinal);
        var source = CardedCircuit($"[Ablation(\"0.1\", {data}, RaisesLossBy = 0.5)]");
        var run = GeneratorHarness.Run(CardedModel, source);
        ExpectSingle(run, source, "CDSL037", $"[Ablation] on Claim: Data = \"{path}\" {why}", data[7..], fileIndex: 1);
    }

    [Fact]
    public void CDSL038_task_and_data_together()
    {
        var source = CardedCircuit("[Faithfulness(\"0.1\", Task = \"repeated-tokens\", Data = \"p.json\", Recovers = 0.5)]");
        var run = GeneratorHarness.Run(CardedModel, source);
        ExpectSingle(run, source, "CDSL038", "[Faithfulness] on Claim gives both Task and Data = \"p.json\"; the loss is measured on one of them",
            "\"p.json\"", fileIndex: 1);
    }

    [Fact]
    public void CDSL039_a_data_file_on_a_model_without_a_weights_folder()
    {
        var source = Circuit("""
                [Ablation("1.1", Data = "p.json", RaisesLossBy = 0.5)]
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, "CDSL039", "[Ablation] on Claim: Data = \"p.json\" is read from Toy2L's [TrainedOn] Weights folder, but Toy2L has no valid [TrainedOn]",
            "\"p.json\"");
    }

    [Theory]
    [InlineData("Sequences = 0", "", "")]
    [InlineData("Sequences = -1", "Sequences = -1", "is not a number of sequences: a detection batch has at least 1 (0 keeps the default batch's)")]
    [InlineData("SequenceLength = 16", "SequenceLength = 16", "is outside 2 … n_ctx − 1 = 15, the lengths a detection sequence of Toy1L can have")]
    [InlineData("SequenceLength = 0", "", "")]
    [InlineData("SequenceLength = 1", "SequenceLength = 1", "is outside 2 … n_ctx − 1 = 15, the lengths a detection sequence of Toy1L can have")]
    [InlineData("SequenceLength = 15", "", "")]
    public void CDSL040_a_detection_batch_that_does_not_fit_the_model(string batch, string argument, string why)
    {
        var source = CardedCircuit($"[InductionHead(\"0.1\", AtLeast = 0.5, {batch})]");
        var run = GeneratorHarness.Run(CardedModel, source);
        if (argument.Length == 0)
        {
            run.Diagnostics.Should().BeEmpty("0 keeps the default, and n_ctx − 1 is the longest sequence");
            return;
        }

        ExpectSingle(run, source, "CDSL040", $"[InductionHead] on Claim: {argument} {why}", argument.Split(" = ")[1] + ")]", fileIndex: 1);
    }

    [Fact]
    public void CDSL040_a_detection_sequence_needing_more_distinct_tokens_than_the_vocabulary()
    {
        var model = """
            using CircuitDsl;

            namespace Specs;

            [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 6, NCtx = 16, AttnOnly = true)]
            public sealed partial class Toy1L;
            """;
        var source = Circuit("""
                [PreviousTokenHead("0.1", AtLeast = 0.5, SequenceLength = 13)]
                public static partial Evidence Claim(Toy1L model);
            """, model: "Toy1L");
        var run = GeneratorHarness.Run(model, source);
        ExpectSingle(run, source, "CDSL040", "[PreviousTokenHead] on Claim: SequenceLength = 13 needs 7 distinct tokens, but Toy1L has d_vocab = 6",
            "13)]", fileIndex: 1);
    }

    private const string CardedModel = """
        using CircuitDsl;

        namespace Specs;

        [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 50, NCtx = 16, AttnOnly = true)]
        [TrainedOn("repeated-tokens", Steps = 10, Weights = "w")]
        public sealed partial class Toy1L;
        """;

    private static string CardedCircuit(string attribute) => Circuit($$"""
                {{attribute}}
                public static partial Evidence Claim(Toy1L model);
            """, model: "Toy1L");

    [Fact]
    public void CDSL015_hypothesis_outside_a_circuit()
    {
        var source = Circuit("""
                [InductionHead("1.1", AtLeast = 0.5)]
                public static partial Evidence Induction11(Toy2L model);
            """).Replace("[Circuit(typeof(Toy2L))]\n", "", StringComparison.Ordinal);
        ExpectSingle(source, "CDSL015",
            "[InductionHead] on Induction11 is never checked: Induction has no [Circuit] attribute; add [Circuit(typeof(TheModel))] to it",
            "InductionHead");
    }

    [Theory]
    [InlineData("\"1.0\"", "1.0", "1")]
    [InlineData("\"1.2\"", "1.2", "1")]
    public void CDSL017_virtual_head_through_a_head_not_in_an_earlier_layer(string through, string head, string layer)
    {
        var source = Circuit($$"""
                [VirtualHead("1.1", Through = {{through}}, AtLeast = 0.05)]
                public static partial Evidence Virtual(Toy2L model);
            """);
        ExpectSingle(source, "CDSL017",
            $"[VirtualHead] on Virtual: a path cannot run through {head} and then 1.1: Through must be in an earlier layer (it is in layer {layer}, 1.1 in layer 1)",
            through);
    }

    [Theory]
    [InlineData("3")]
    [InlineData("-1")]
    public void CDSL018_term_importance_order_outside_the_model(string order)
    {
        var source = Circuit($$"""
                [TermImportance(Order = {{order}}, Recovers = 0.9)]
                public static partial Evidence Importance(Toy2L model);
            """);
        ExpectSingle(source, "CDSL018",
            $"[TermImportance] on Importance: Order = {order} is not a path order of Toy2L, whose orders run from 0 (no head) to 2 (one head per layer)",
            order);
    }

    [Theory]
    [InlineData("\"mlp0\"", "'mlp0' names no path term of Toy2L: it has no MLP (attention only).")]
    [InlineData("\"b2\"", "'b2' names no path term of Toy2L: it has 2 layers, b0 to b1.")]
    [InlineData("\"embed\"", "'embed' names no path term; name \"direct\", a head such as \"0.1\", \"b0\" (a layer's attention constant), \"mlp0\" (an MLP's output) or \"b_U\".")]
    [InlineData("\"b01\"", "'b01' names no path term; name \"direct\", a head such as \"0.1\", \"b0\" (a layer's attention constant), \"mlp0\" (an MLP's output) or \"b_U\".")]
    public void CDSL019_path_term_not_in_the_model(string term, string why)
    {
        var source = Circuit($$"""
                [PathTerm({{term}}, AtMost = 0.1)]
                public static partial Evidence Term(Toy2L model);
            """);
        ExpectSingle(source, "CDSL019", "[PathTerm] on Term: " + why, term);
    }

    [Fact]
    public void CDSL002_a_path_terms_head_is_checked_against_the_model()
    {
        var source = Circuit("""
                [PathTerm("1.3", AtMost = 0.1)]
                public static partial Evidence Term(Toy2L model);
            """);
        ExpectSingle(source, "CDSL002", "Head 1.3 is not in Toy2L: it has 2 layers of 3 heads, 0.0 to 1.2", "\"1.3\"");
    }

    [Fact]
    public void CDSL020_path_measure_outside_the_enum()
    {
        var source = Circuit("""
                [VirtualHead("1.1", Through = "0.2", Measure = (PathMeasure)5, AtLeast = 0.05)]
                public static partial Evidence Virtual(Toy2L model);
            """);
        ExpectSingle(source, "CDSL020", "[VirtualHead] on Virtual needs Measure to be PathMeasure.Share or PathMeasure.NextTokenLogit, not (PathMeasure)5",
            "(PathMeasure)5");
    }

    [Theory]
    [InlineData("[VirtualHead(\"1.1\", AtLeast = 0.05)]", "VirtualHead", "Through, the earlier head the path runs through first (e.g. Through = \"0.1\")")]
    [InlineData("[TermImportance(Recovers = 0.9)]", "TermImportance", "Order, the largest path order kept (e.g. Order = 1)")]
    [InlineData("[TermImportance(Order = 1)]", "TermImportance", "Recovers or RecoversAtMost, the threshold (in [0, 1]) that supports the claim")]
    [InlineData("[PathTerm(\"direct\", Measure = PathMeasure.NextTokenLogit)]", "PathTerm", "AtLeast or AtMost, the threshold (in (-∞, ∞)) that supports the claim")]
    public void CDSL010_path_claim_missing_argument(string attribute, string kind, string needs)
    {
        var source = Circuit($$"""
                {{attribute}}
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, "CDSL010", $"[{kind}] on Claim needs {needs}", kind);
    }

    [Fact]
    public void CDSL004_a_share_is_at_most_one()
    {
        var source = Circuit("""
                [PathTerm("0.1", AtLeast = 30)]
                public static partial Evidence Share(Toy2L model);
            """);
        ExpectSingle(source, "CDSL004", "AtLeast = 30 is outside [0, 1], the range of a share of the logits", "30");
    }

    [Fact]
    public void CDSL025_patching_inputs_of_different_lengths() => PatchingMistake("Clean = new[] { 1, 2, 3 }, Corrupted = new[] { 1, 2 }, Answer = 9, Wrong = 13", "CDSL025",
        "the clean input has 3 tokens and the corrupted one [1, 2] has 2; patching needs inputs of equal lengths", "new[] { 1, 2 }", 0);

    [Fact]
    public void CDSL026_patching_token_outside_the_vocabulary() => PatchingMistake("Clean = new[] { 1, 70, 3 }, Corrupted = new[] { 1, 4, 3 }, Answer = 9, Wrong = 13", "CDSL026",
        "Clean token at position 1, 70 is outside the vocabulary [0, 64) of Toy2L", "new[] { 1, 70, 3 }", 0);

    [Fact]
    public void CDSL027_patched_layer_outside_the_model() => PatchingMistake("Layer = 2, Clean = new[] { 1, 2, 3 }, Corrupted = new[] { 1, 4, 3 }, Answer = 9, Wrong = 13", "CDSL027",
        "Layer = 2 is not a block of Toy2L, which has 2 layers", "Layer = 2", 8);

    [Fact]
    public void CDSL028_patching_answer_equal_to_the_wrong_token() => PatchingMistake("Clean = new[] { 1, 2, 3 }, Corrupted = new[] { 1, 4, 3 }, Answer = 9, Wrong = 9", "CDSL028",
        "the answer and the wrong token are both 9; their logit difference is always 0", "Wrong = 9", 8);

    [Fact]
    public void CDSL029_patching_between_identical_inputs() => PatchingMistake("Clean = new[] { 1, 2, 3 }, Corrupted = new[] { 1, 2, 3 }, Answer = 9, Wrong = 13", "CDSL029",
        "the clean and corrupted inputs are the same tokens [1, 2, 3], so patching can change nothing", "Corrupted = new", 12);

    private static void PatchingMistake(string arguments, string id, string problem, string marker, int offset)
    {
        var layer = arguments.StartsWith("Layer", StringComparison.Ordinal) ? "" : "Layer = 1, ";
        var source = Circuit($$"""
                [Patching(PatchedActivation.ResidPre, {{layer}}{{arguments}}, AtLeast = 0.5)]
                public static partial Evidence Claim(Toy2L model);
            """);
        ExpectSingle(source, id, $"[Patching] Claim: {problem}", marker, offset: offset);
    }

    [Fact]
    public void Every_descriptor_has_a_test_here_and_a_line_in_the_release_notes()
    {
        var ids = typeof(CircuitDslGenerator).Assembly
            .GetType("CircuitDsl.Generators.Diagnostics.DiagnosticDescriptors")!
            .GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public)
            .Select(f => ((DiagnosticDescriptor)f.GetValue(null)!).Id)
            .ToList();
        var tested = typeof(DiagnosticTests).GetMethods().Select(m => m.Name.Split('_')[0]).ToHashSet();
        var releases = File.ReadAllText(Path.Combine(RepositoryRoot(), "generators", "CircuitDsl.Generators", "AnalyzerReleases.Unshipped.md"));

        ids.Should().OnlyHaveUniqueItems().And.HaveCount(33);
        ids.Should().OnlyContain(id => tested.Contains(id), "every diagnostic has a test named after it");
        ids.Should().OnlyContain(id => releases.Contains(id + " | CircuitDsl | ", StringComparison.Ordinal));
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", ".."));

    /// <summary>A zero-layer model spec named Carded with <c>[TrainedOn(arguments)]</c>.</summary>
    private static string Carded(string arguments) => $$"""
        using CircuitDsl;

        namespace Specs;

        [Transformer(NLayers = 0, DModel = 8, DVocab = 10, NCtx = 8, AttnOnly = true, NormalizationType = Normalization.None)]
        [TrainedOn({{arguments}})]
        public sealed partial class Carded;
        """;

    private static void ExpectSingle(string circuitSource, string id, string message, string marker, int occurrence = 1, int offset = 0)
    {
        var run = GeneratorHarness.Run(SpecSources.TwoLayer, circuitSource, SpecSources.OneLayer);
        ExpectSingle(run, circuitSource, id, message, marker, fileIndex: 1, occurrence, offset);
    }

    private static void ExpectSingle(GeneratorRun run, string source, string id, string message, string marker, int fileIndex,
        int occurrence = 1, int offset = 0, DiagnosticSeverity severity = DiagnosticSeverity.Error)
    {
        run.Result.Results.Should().OnlyContain(r => r.Exception == null);
        run.Diagnostics.Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")
            .Should().Equal($"{id}: {message}");
        var diagnostic = run.Diagnostics[0];
        diagnostic.Severity.Should().Be(severity);
        diagnostic.Location.GetLineSpan().Path.Should().Be($"Spec{fileIndex}.cs");
        var (line, column) = GeneratorHarness.PositionOf(source, marker, occurrence);
        GeneratorHarness.StartOf(diagnostic).Should().Be((line, column + offset), $"the diagnostic points at {marker}");
    }
}
