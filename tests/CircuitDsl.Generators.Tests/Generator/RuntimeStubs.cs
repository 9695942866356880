namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// The runtime API the generated code calls that is not on main yet (circuit analysis and reports, on the
/// analysis branch), declared with that branch's signatures so the generated code can be
/// compiled here. Compiled into the test compilation only when the runtime lacks the type: once the real type
/// lands, <see cref="For"/> leaves its stub out and the generated code is checked against the real one.
/// </summary>
public static class RuntimeStubs
{
    private static readonly (string TypeName, string Namespace, string Declaration)[] Stubs =
    [
        ("CircuitDsl.Model.HookedTransformer", "CircuitDsl.Model", """
            public sealed class HookedTransformer
            {
                public HookedTransformer(TransformerWeights weights) { }
                public global::CircuitDsl.Tensors.Tensor Forward(int[][] tokens, HookSet? hooks = null) => throw null!;
                public (global::CircuitDsl.Tensors.Tensor Logits, ActivationCache Cache) RunWithCache(int[][] tokens, System.Func<string, bool>? names = null, HookSet? hooks = null) => throw null!;
            }
            """),
        ("CircuitDsl.Model.ActivationCache", "CircuitDsl.Model", """
            public sealed class ActivationCache
            {
                public global::CircuitDsl.Tensors.Tensor this[string name] => throw null!;
            }
            """),
        ("CircuitDsl.Model.HookSet", "CircuitDsl.Model", """
            public sealed class HookSet { }
            """),
        ("CircuitDsl.Weights.ModelFolder", "CircuitDsl.Weights", """
            public sealed class ModelFolder : System.IDisposable
            {
                public static ModelFolder Load(string dir) => throw null!;
                public global::CircuitDsl.Model.ModelConfig Config => throw null!;
                public global::CircuitDsl.Model.TransformerWeights Weights => throw null!;
                public string Directory => throw null!;
                public void Dispose() { }
            }
            """),
        ("CircuitDsl.Circuits.FactoredMatrix", "CircuitDsl.Circuits", """
            public sealed class FactoredMatrix { }
            """),
        ("CircuitDsl.Circuits.HeadCircuits", "CircuitDsl.Circuits", """
            public static class HeadCircuits
            {
                public static FactoredMatrix W_QK(global::CircuitDsl.Model.TransformerWeights weights, global::CircuitDsl.HeadId head) => throw null!;
                public static FactoredMatrix W_OV(global::CircuitDsl.Model.TransformerWeights weights, global::CircuitDsl.HeadId head) => throw null!;
                public static FactoredMatrix FullOV(global::CircuitDsl.Model.TransformerWeights weights, global::CircuitDsl.HeadId head) => throw null!;
                public static FactoredMatrix FullQK(global::CircuitDsl.Model.TransformerWeights weights, global::CircuitDsl.HeadId head) => throw null!;
            }
            """),
        ("CircuitDsl.Circuits.ModelAnalysis", "CircuitDsl.Circuits", """
            public sealed class ModelAnalysis
            {
                public ModelAnalysis(global::CircuitDsl.Model.TransformerWeights weights, object? processing = null, int[][]? detectionBatch = null, string? modelName = null) { }
                public global::CircuitDsl.Reports.CircuitReport Report(string circuit, System.Collections.Generic.IEnumerable<global::CircuitDsl.Reports.Evidence> evidence) => throw null!;
            }
            """),
        ("CircuitDsl.Circuits.PathExpansion", "CircuitDsl.Circuits", """
            public sealed class PathExpansion
            {
                public static PathExpansion Create(global::CircuitDsl.Model.TransformerWeights weights) => throw null!;
                public System.Collections.Generic.IReadOnlyList<PathTerm> Terms => throw null!;
            }
            """),
        ("CircuitDsl.Circuits.PathTerm", "CircuitDsl.Circuits", """
            public sealed class PathTerm
            {
                public string Name => throw null!;
            }
            """),
        ("CircuitDsl.Circuits.Hypotheses", "CircuitDsl.Circuits", """
            public static class Hypotheses
            {
                public static global::CircuitDsl.Reports.Evidence PreviousTokenHead(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId head, double atLeast) => throw null!;
                public static global::CircuitDsl.Reports.Evidence DuplicateTokenHead(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId head, double atLeast) => throw null!;
                public static global::CircuitDsl.Reports.Evidence InductionHead(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId head, double atLeast) => throw null!;
                public static global::CircuitDsl.Reports.Evidence CopyingHead(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId head, double atLeast) => throw null!;
                public static global::CircuitDsl.Reports.Evidence Composition(ModelAnalysis a, string name, string claim, global::CircuitDsl.CompositionKind via, global::CircuitDsl.HeadId from, global::CircuitDsl.HeadId to, double threshold, global::CircuitDsl.Reports.Bound bound, bool inBaselineUnits) => throw null!;
                public static global::CircuitDsl.Reports.Evidence Ablation(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId head, string task, double raisesLossBy) => throw null!;
                public static global::CircuitDsl.Reports.Evidence Faithfulness(ModelAnalysis a, string name, string claim, global::CircuitDsl.HeadId[] heads, string task, double recovers) => throw null!;
            }
            """),
        ("CircuitDsl.Reports.Evidence", "CircuitDsl.Reports", """
            public sealed class Evidence { }
            """),
        ("CircuitDsl.Reports.CircuitReport", "CircuitDsl.Reports", """
            public sealed class CircuitReport { }
            """),
        ("CircuitDsl.Reports.Bound", "CircuitDsl.Reports", """
            public enum Bound { AtLeast, AtMost }
            """),
    ];

    /// <summary>The stubs for every agreed runtime type the runtime assembly does not have yet, as one source.</summary>
    public static string For()
    {
        var runtime = typeof(CircuitDsl.Tensors.Tensor).Assembly;
        var parts = Stubs
            .Where(s => runtime.GetType(s.TypeName) is null)
            .Select(s => $"namespace {s.Namespace}\n{{\n{s.Declaration}\n}}\n");
        return "#nullable enable\n#pragma warning disable CS1591\n" + string.Join("\n", parts);
    }

    /// <summary>The names of the runtime types still stubbed, for test output.</summary>
    public static IReadOnlyList<string> Missing() =>
        Stubs.Select(s => s.TypeName).Where(n => typeof(CircuitDsl.Tensors.Tensor).Assembly.GetType(n) is null).ToList();
}
