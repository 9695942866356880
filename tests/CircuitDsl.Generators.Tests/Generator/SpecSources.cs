namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>The spec sources the generator tests feed it: the paper's 0-, 1- and 2-layer models and a circuit.</summary>
public static class SpecSources
{
    public const string ZeroLayer = """
        using CircuitDsl;

        namespace Specs;

        /// <summary>The bigram model: logits = W_E W_U.</summary>
        [Transformer(NLayers = 0, DModel = 32, DVocab = 50, NCtx = 16, AttnOnly = true, NormalizationType = Normalization.None)]
        public sealed partial class Toy0L;
        """;

    public const string OneLayer = """
        using CircuitDsl;

        namespace Specs;

        [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 50, NCtx = 16,
                     AttnOnly = true, NormalizationType = Normalization.None)]
        public sealed partial class Toy1L;
        """;

    public const string OneLayerMlp = """
        using CircuitDsl;

        namespace Specs;

        [Transformer(NLayers = 1, NHeads = 1, DModel = 16, DHead = 8, DVocab = 20, NCtx = 8, DMlp = 64,
                     ActFn = ActivationFunction.GeluNew, NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Shortformer)]
        public sealed partial class Mlp1L;
        """;

    public const string TwoLayer = """
        using CircuitDsl;

        namespace Specs;

        [Transformer(NLayers = 2, NHeads = 3, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64,
                     AttnOnly = true, NormalizationType = Normalization.None)]
        public sealed partial class Toy2L;
        """;

    public const string Induction = """
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        /// <summary>
        /// The induction circuit of a two-layer attention-only model: a previous-token head in layer 0 whose
        /// output the keys of an induction head in layer 1 read.
        /// </summary>
        [Circuit(typeof(Toy2L), Paper = "Induction Heads")]
        public static partial class Induction
        {
            /// <summary>Head <c>0.2</c> attends to the previous token.</summary>
            [PreviousTokenHead("0.2", AtLeast = 0.8)]
            public static partial Evidence PreviousToken(Toy2L model);

            /// <summary>Head 1.1 attends to the token after an earlier copy of the current one.</summary>
            [InductionHead("1.1", AtLeast = 0.5, Paper = "Induction Heads: how they work")]
            public static partial Evidence Induction11(Toy2L model);

            /// <summary>Head 0.1 attends to earlier copies of the current token.</summary>
            [DuplicateTokenHead("0.1", AtLeast = 0.3)]
            internal static partial Evidence DuplicateToken(Toy2L model);

            /// <summary>Head 1.1 copies what it attends to.</summary>
            [CopyingHead("1.1", AtLeast = 0.7)]
            public static partial Evidence Copying(Toy2L model);

            /// <summary>Head 1.1 reads its keys from what 0.2 wrote.</summary>
            [Composes("1.1", Via = CompositionKind.K, From = "0.2", AtLeast = 3, InBaselineUnits = true)]
            public static partial Evidence KComposition(Toy2L model);

            /// <summary>Head 1.1's queries do not read from 0.2.</summary>
            [Composes("1.1", Via = CompositionKind.Q, From = "0.2", AtMost = 0.2)]
            public static partial Evidence NoQComposition(Toy2L model);

            /// <summary>Without 1.1 the model cannot predict repeated tokens.</summary>
            [Ablation("1.1", Task = "repeated-tokens", RaisesLossBy = 1.0)]
            public static partial Evidence InductionMatters(Toy2L model);

            /// <summary>Heads 0.2 and 1.1 alone do the task.</summary>
            [Faithfulness("0.2", "1.1", Task = "repeated-tokens", Recovers = 0.8)]
            public static partial Evidence Faithful(Toy2L model);

            /// <summary>Head 0.0 is not an induction head.</summary>
            [InductionHead("0.0", AtMost = 0.1)]
            public static partial Evidence NotInduction(Toy2L model);

            /// <summary>Head 1.1 is an induction head on 16 sequences of 40 tokens.</summary>
            [InductionHead("1.1", AtLeast = 0.5, Sequences = 16, SequenceLength = 40)]
            public static partial Evidence InductionOnLongerBatch(Toy2L model);

            /// <summary>Head 0.2 attends to the previous token on short sequences too.</summary>
            [PreviousTokenHead("0.2", AtLeast = 0.8, SequenceLength = 9)]
            public static partial Evidence PreviousTokenOnShortSequences(Toy2L model);

            /// <summary>Head 0.0 hardly matters for repeated tokens.</summary>
            [Ablation("0.0", Task = "repeated-tokens", RaisesLossByAtMost = 0.05)]
            public static partial Evidence Head00Unneeded(Toy2L model);

            /// <summary>Head 0.2 alone does not do the task.</summary>
            [Faithfulness("0.2", Task = "repeated-tokens", RecoversAtMost = 0.5)]
            public static partial Evidence PreviousTokenAloneFallsShort(Toy2L model);

            /// <summary>The residual stream has no privileged basis: rotating it leaves the logits unchanged.</summary>
            [Rotated(Seed = 1, AtMost = 1e-4)]
            public static partial Evidence RotationChangesNothing(Toy2L model);

            /// <summary>A uniform guess over the vocabulary loses at most 4.2 nats a token.</summary>
            [Measured(AtMost = 4.2, Unit = "nats")]
            public static double UniformLoss(Toy2L model) => System.Math.Log(Toy2L.Config.DVocab);
        }
        """;

    /// <summary>A model trained on several seeds, and claims that name heads by role or hold on some of the seeds.</summary>
    public const string Seeded = """
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        [Transformer(NLayers = 2, NHeads = 4, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, AttnOnly = true)]
        [TrainedOn(TaskNames.RepeatedTokens, Steps = 4000, Seeds = new[] { 0, 1, 2, 3, 4 }, Weights = "weights/induction-2l")]
        public sealed partial class Seeded2L;

        /// <summary>What holds on every seed, whichever heads take the roles.</summary>
        [Circuit(typeof(Seeded2L))]
        public static partial class Universal
        {
            /// <summary>The strongest induction head reads its keys from the strongest previous-token head.</summary>
            [Composes("1.induction", Via = CompositionKind.K, From = "0.previous-token", AtLeast = 1.5, InBaselineUnits = true)]
            public static partial Evidence KComposition(Seeded2L model);

            /// <summary>Head 1.3 copies, on four of the seeds.</summary>
            [CopyingHead("1.3", AtLeast = 0.9, OnSeeds = 4)]
            public static partial Evidence Copying(Seeded2L model);

            /// <summary>The previous-token head and head 1.0 do the task.</summary>
            [Faithfulness("0.previous-token", "1.0", Task = TaskNames.RepeatedTokens, Recovers = 0.5)]
            public static partial Evidence Faithful(Seeded2L model);

            /// <summary>Without the previous-token head the model loses the repeats of the researcher's own prompts.</summary>
            [Ablation("0.previous-token", Data = "data/prompts.json", RaisesLossBy = 0.5)]
            public static partial Evidence PreviousTokenHeadMattersOnPrompts(Seeded2L model);

            /// <summary>The same heads do the researcher's own prompts.</summary>
            [Faithfulness("0.previous-token", "1.0", Data = "data/prompts.json", Recovers = 0.5)]
            public static partial Evidence FaithfulOnPrompts(Seeded2L model);
        }
        """;

    public const string PlantedStructure = """
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        [Transformer(NLayers = 0, DModel = 32, DVocab = 50, NCtx = 16, AttnOnly = true, NormalizationType = Normalization.None)]
        [TrainedOn("bigram", Steps = 1000, Seed = 3, Weights = "weights/bigram")]
        public sealed partial class Chain0L;

        [Transformer(NLayers = 1, NHeads = 2, DModel = 32, DHead = 16, DVocab = 50, NCtx = 16,
                     AttnOnly = true, NormalizationType = Normalization.None)]
        [TrainedOn(TaskNames.SkipTrigram, Steps = 1500, Seed = 7, Weights = "weights/skip", LearningRate = 0.003, BatchSize = 16)]
        public sealed partial class Skip1L;

        /// <summary>The direct path is the chain's bigram table.</summary>
        [Circuit(typeof(Chain0L), Paper = "Zero-Layer Transformers")]
        public static partial class Bigrams
        {
            /// <summary>log_softmax(W_E W_U + b_U) tracks the chain's log-probabilities.</summary>
            [DirectPathBigrams(AtLeast = 0.9)]
            public static partial Evidence DirectPath(Chain0L model);
        }

        /// <summary>Head 0.1 carries the planted skip-trigrams.</summary>
        [Circuit(typeof(Skip1L))]
        public static partial class SkipTrigrams
        {
            /// <summary>Most planted triples are among 0.1's strongest skip-trigrams.</summary>
            [SkipTrigrams("0.1", AtLeast = 0.5, Paper = "Skip-Trigrams")]
            public static partial Evidence Head01(Skip1L model);

            /// <summary>Head 0.0 carries few of them.</summary>
            [SkipTrigrams("0.0", AtMost = 0.2)]
            public static partial Evidence Head00(Skip1L model);
        }
        """;

    public const string PathClaims = """
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        [Transformer(NLayers = 2, NHeads = 3, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64, DMlp = 256)]
        [TrainedOn(TaskNames.RepeatedTokens, Steps = 100, Seed = 4, Weights = "weights/mlp-2l")]
        public sealed partial class Mlp2L;

        /// <summary>What the path expansion of Mlp2L shows.</summary>
        [Circuit(typeof(Mlp2L), Paper = "Term Importance")]
        public static partial class Paths
        {
            /// <summary>The direct path carries a third of the logits.</summary>
            [PathTerm("direct", AtLeast = 0.3)]
            public static partial Evidence Direct(Mlp2L model);

            /// <summary>The second MLP raises the next token's logit.</summary>
            [PathTerm("mlp1", Measure = PathMeasure.NextTokenLogit, AtLeast = 0.5)]
            public static partial Evidence SecondMlp(Mlp2L model);

            /// <summary>Head 1.2 through 0.0 is a small virtual head.</summary>
            [VirtualHead("1.2", Through = "0.0", AtMost = 0.05, Paper = "Virtual Attention Heads")]
            public static partial Evidence Virtual(Mlp2L model);

            /// <summary>Paths through one head at most recover most of the loss.</summary>
            [TermImportance(Order = 1, Recovers = 0.9)]
            public static partial Evidence OneHead(Mlp2L model);
        }
        """;

    public const string Patching = """
        using CircuitDsl;
        using CircuitDsl.Reports;

        namespace Specs;

        /// <summary>Patching claims on the two-layer model.</summary>
        [Circuit(typeof(Toy2L))]
        public static partial class PatchingClaims
        {
            /// <summary>The residual stream entering layer 1 at position 2 restores the answer.</summary>
            [Patching(PatchedActivation.ResidPre, Layer = 1, Position = 2, Clean = new[] { 5, 9, 12, 5 },
                      Corrupted = new[] { 5, 13, 12, 5 }, Answer = 9, Wrong = 13, AtLeast = 0.8)]
            public static partial Evidence Stored(Toy2L model);

            /// <summary>Head 1.2's pattern does not matter.</summary>
            [Patching(PatchedActivation.HeadPattern, Head = "1.2", Clean = new[] { 5, 9, 12, 5 },
                      Corrupted = new[] { 5, 13, 12, 5 }, Answer = 9, Wrong = 13, AtMost = 0.1)]
            public static partial Evidence PatternIrrelevant(Toy2L model);
        }
        """;
}
