using System.Reflection;
using System.Runtime.Loader;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tensors;

namespace CircuitDsl.Generators.Tests.Generator;

/// <summary>
/// The emitted code runs: it is compiled, loaded and driven against the real runtime. Typed head accessors must
/// be views of the right slice of the right tensor, the config check must name each mismatched field, the
/// circuit's checks must reach the runtime with each hypothesis's heads, kind and threshold as written, and the
/// documentation data must be what was written.
/// </summary>
public sealed class EmittedCodeTests
{
    private static readonly Lazy<Assembly> Specs = new(() =>
    {
        var run = GeneratorHarness.Run(SpecSources.TwoLayer, SpecSources.Induction);
        run.OutputProblems.Should().BeEmpty();
        using var image = new MemoryStream();
        var emitted = run.Output.Emit(image);
        emitted.Success.Should().BeTrue(string.Join("\n", emitted.Diagnostics));
        image.Position = 0;
        return AssemblyLoadContext.Default.LoadFromStream(image);
    });

    private static Type Toy2L => Specs.Value.GetType("Specs.Toy2L")!;

    [Fact]
    public void Config_is_the_declared_architecture_and_is_valid()
    {
        var config = (ModelConfig)Toy2L.GetProperty("Config")!.GetValue(null)!;
        config.Should().BeEquivalentTo(new ModelConfig
        {
            NLayers = 2, NHeads = 3, DModel = 64, DHead = 16, DVocab = 64, NCtx = 64,
            AttnOnly = true, NormalizationType = Normalization.None, PositionalEmbeddingType = PositionalEmbedding.Standard,
        });
        config.Problems().Should().BeEmpty();
        Toy2L.GetField("NLayers")!.GetValue(null).Should().Be(2);
        Toy2L.GetField("NHeads")!.GetValue(null).Should().Be(3);
    }

    [Fact]
    public void Head_accessors_are_views_of_their_slice_of_the_layer_tensors()
    {
        var config = (ModelConfig)Toy2L.GetProperty("Config")!.GetValue(null)!;
        var weights = TransformerWeights.Zeros(config);
        foreach (var block in weights.Blocks)
        {
            foreach (var tensor in new[] { block.W_Q, block.W_K, block.W_V, block.W_O, block.b_Q, block.b_K, block.b_V })
            {
                var span = tensor.Span;
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = i;
                }
            }
        }

        dynamic model = Toy2L.GetMethod("FromWeights")!.Invoke(null, [weights])!;
        var perHead = 64 * 16;
        ((Tensor)model.L1.H2.W_Q).Span[0].Should().Be(2 * perHead, "head 2's W_Q starts after heads 0 and 1");
        ((Tensor)model.L1.H2.W_Q).HasShape(64, 16).Should().BeTrue();
        ((Tensor)model.L0.H1.W_O).HasShape(16, 64).Should().BeTrue();
        ((Tensor)model.L0.H1.W_O).Span[5].Should().Be(perHead + 5);
        ((Tensor)model.L1.H0.b_V).Span[3].Should().Be(3);
        ((Tensor)model.L1.H2.b_K).Span[0].Should().Be(32);

        ((Tensor)model.L1.H2.W_Q).Span[7] = -1f;
        weights.Blocks[1].W_Q.Span[(2 * perHead) + 7].Should().Be(-1f, "the accessor is a view, not a copy");

        ((object)model.L1.H2.Id).Should().Be(new HeadId(1, 2));
        ((IEnumerable<object>)model.AllHeads).Select(h => h.ToString()).Should().Equal("0.0", "0.1", "0.2", "1.0", "1.1", "1.2");
        ((int)model.L1.Index).Should().Be(1);
    }

    [Fact]
    public void Each_path_member_is_the_runtime_term_of_its_typed_heads()
    {
        dynamic model = Toy2L.GetMethod("FromWeights")!.Invoke(null, [RandomWeights(seed: 7)])!;
        int[][] tokens = [[1, 2, 3, 4, 5, 1, 2, 3]];
        var paths = (PathTermSet)model.Paths(tokens);
        dynamic typed = paths;

        var virtualHead = (PathTerm)typed.L1H2_L0H0;
        virtualHead.Should().BeSameAs(paths.Through(new HeadId(0, 0), new HeadId(1, 2)));
        virtualHead.Paths.Should().Equal(
            new PathId(PathSource.Embed, new HeadId(0, 0), new HeadId(1, 2)), new PathId(PathSource.PosEmbed, new HeadId(0, 0), new HeadId(1, 2)));
        ((PathTerm)typed.L0H1).Should().BeSameAs(paths.Through(new HeadId(0, 1)));
        ((PathTerm)typed.B1).Should().BeSameAs(paths.Source(PathSource.AttentionBias(1)));
        paths.GetType().GetProperties().Where(p => p.PropertyType == typeof(PathTerm)).Select(p => p.Name).Should().BeEquivalentTo(
            ["Direct", "UnembedBias", "Rest", "L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2", "B0", "B1",
             .. from h2 in Enumerable.Range(0, 3) from h1 in Enumerable.Range(0, 3) select $"L1H{h2}_L0H{h1}"],
            "an attention-only model has no Mlp members");
    }

    [Fact]
    public void The_typed_cache_slices_each_head_out_of_the_runtime_cache()
    {
        dynamic model = Toy2L.GetMethod("FromWeights")!.Invoke(null, [RandomWeights(seed: 7)])!;
        int[][] tokens = [[1, 2, 3, 4, 5, 1, 2, 3], [9, 8, 7, 6, 9, 8, 7, 6]];
        dynamic result = model.RunWithCache(tokens);
        var logits = (Tensor)result.Item1;
        dynamic typed = result.Item2;
        var raw = (ActivationCache)typed.Activations;

        var pattern = (Tensor)typed.L1.H2.Pattern;                  // [batch, q, k] from [batch, n_heads, q, k]
        var rawPattern = raw[HookNames.Pattern(1)];
        pattern.HasShape(2, 8, 8).Should().BeTrue();
        for (var b = 0; b < 2; b++)
        {
            pattern[b].Span.ToArray().Should().Equal(rawPattern[b][2].Span.ToArray());
        }

        var q = (Tensor)typed.L0.H1.Q;                              // [batch, pos, d_head] from [batch, pos, n_heads, d_head]
        var rawQ = raw[HookNames.Q(0)];
        q.HasShape(2, 8, 16).Should().BeTrue();
        for (var b = 0; b < 2; b++)
        {
            for (var p = 0; p < 8; p++)
            {
                q[b][p].Span.ToArray().Should().Equal(rawQ[b][p][1].Span.ToArray());
            }
        }

        ((Tensor)typed.L1.ResidPost).Span.ToArray().Should().Equal(raw[HookNames.ResidPost(1)].Span.ToArray());
        var forward = ((Tensor)model.Forward(tokens)).Span.ToArray();
        forward.Zip(logits.Span.ToArray(), (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-4f,
            "Forward and RunWithCache are the same pass (up to float rounding in the kernels)");
    }

    [Fact]
    public void The_config_check_names_every_mismatched_field()
    {
        var config = (ModelConfig)Toy2L.GetProperty("Config")!.GetValue(null)!;
        config.DescribeMismatch(config, "Toy2L").Should().BeNull();

        var other = config with { NLayers = 3, DHead = 8, NormalizationType = Normalization.LN, PositionalEmbeddingType = PositionalEmbedding.Shortformer };
        other.DescribeMismatch(config, "Toy2L").Should().Be(
            "the config does not match [Transformer] on Toy2L: n_layers is 3 but Toy2L declares 2; d_head is 8 but Toy2L declares 16; "
            + "normalization_type is \"LN\" but Toy2L declares null; positional_embedding_type is \"shortformer\" but Toy2L declares \"standard\". "
            + "To load this folder, declare [Transformer(NLayers = 3, NHeads = 3, DModel = 64, DHead = 8, DVocab = 64, NCtx = 64, AttnOnly = true, "
            + "PositionalEmbeddingType = PositionalEmbedding.Shortformer)].");

        var wrongWeights = TransformerWeights.Zeros(config with { DModel = 32 });
        var fromWeights = () => Toy2L.GetMethod("FromWeights")!.Invoke(null, [wrongWeights]);
        fromWeights.Should().Throw<TargetInvocationException>().WithInnerException<ArgumentException>()
            .WithMessage("the config does not match [Transformer] on Toy2L: d_model is 32 but Toy2L declares 64.*");
    }

    [Fact]
    public void Load_reads_a_model_folder_of_the_declared_architecture_and_names_the_field_of_any_other()
    {
        var config = (ModelConfig)Toy2L.GetProperty("Config")!.GetValue(null)!;
        var root = Path.Combine(Path.GetTempPath(), "circuitdsl-generator-" + Guid.NewGuid().ToString("N"));
        try
        {
            var weights = TransformerWeights.Zeros(config);
            weights.Blocks[1].W_V.Span[(2 * 64 * 16) + 3] = 0.25f;
            CircuitDsl.Weights.ModelFolder.Save(Path.Combine(root, "good"), weights);
            using (var model = (IDisposable)Toy2L.GetMethod("Load")!.Invoke(null, [Path.Combine(root, "good")])!)
            {
                ((Tensor)((dynamic)model).L1.H2.W_V).Span[3].Should().Be(0.25f);
            }

            CircuitDsl.Weights.ModelFolder.Save(Path.Combine(root, "wide"), TransformerWeights.Zeros(config with { NHeads = 4 }));
            var load = () => Toy2L.GetMethod("Load")!.Invoke(null, [Path.Combine(root, "wide")]);
            load.Should().Throw<TargetInvocationException>().WithInnerException<CircuitDsl.WeightsFormatException>()
                .WithMessage($"{Path.Combine(root, "wide", "config.json")}: the config does not match [Transformer] on Toy2L: n_heads is 4 but Toy2L declares 3. To load this folder, declare [Transformer(*)].");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void CheckAll_passes_each_hypothesis_to_the_runtime_as_written()
    {
        dynamic model = Toy2L.GetMethod("FromWeights")!.Invoke(null, [RandomWeights(seed: 3)])!;
        var checkAll = Specs.Value.GetType("Specs.Induction")!.GetMethod("CheckAll")!;
        var report = (CircuitDsl.Reports.CircuitReport)checkAll.Invoke(null, [model])!;

        report.Circuit.Should().Be("Induction");
        report.Model.Should().Be("Toy2L");
        report.Evidence.Select(e => (e.Hypothesis, e.Threshold, e.Comparison)).Should().Equal(
            ("PreviousToken", 0.8, Bound.AtLeast),
            ("Induction11", 0.5, Bound.AtLeast),
            ("DuplicateToken", 0.3, Bound.AtLeast),
            ("Copying", 0.7, Bound.AtLeast),
            ("KComposition", 3.0, Bound.AtLeast),
            ("NoQComposition", 0.2, Bound.AtMost),
            ("InductionMatters", 1.0, Bound.AtLeast),
            ("Faithful", 0.8, Bound.AtLeast),
            ("NotInduction", 0.1, Bound.AtMost),
            ("InductionOnLongerBatch", 0.5, Bound.AtLeast),
            ("PreviousTokenOnShortSequences", 0.8, Bound.AtLeast),
            ("Head00Unneeded", 0.05, Bound.AtMost),
            ("PreviousTokenAloneFallsShort", 0.5, Bound.AtMost),
            ("RotationChangesNothing", 1e-4, Bound.AtMost),
            ("UniformLoss", 4.2, Bound.AtMost));
        report.Evidence[0].Claim.Should().Be("Head 0.2 attends to the previous token.");

        // Via, From and To arrive in their places: the unit names them, and the value is that pair's score.
        var k = report.Evidence.Single(e => e.Hypothesis == "KComposition");
        k.Unit.Should().Be("K-composition 0.2 -> 1.1 (x random baseline)");
        var table = ((CircuitDsl.Circuits.ModelAnalysis)model.Analysis).Composition;
        k.Measured.Should().BeApproximately(table.Score(CompositionKind.K, new HeadId(0, 2), new HeadId(1, 1)) / table.RandomBaseline, 1e-9);
        report.Evidence.Single(e => e.Hypothesis == "NoQComposition").Unit.Should().Be("Q-composition 0.2 -> 1.1");
        report.Evidence.Should().OnlyContain(e => e.Verdict != Verdict.NotMeasured, "every hypothesis is measurable on this model");

        // A detector claim's own batch reached the analysis: 16 sequences of 40 tokens, and the default count with 9 tokens.
        var analysis = (CircuitDsl.Circuits.ModelAnalysis)model.Analysis;
        foreach (var (name, sequences, length, kind, head) in new[]
        {
            ("InductionOnLongerBatch", 16, 40, CircuitDsl.Circuits.DetectorKind.Induction, new HeadId(1, 1)),
            ("PreviousTokenOnShortSequences", 0, 9, CircuitDsl.Circuits.DetectorKind.PreviousToken, new HeadId(0, 2)),
        })
        {
            var own = analysis.OnDetectionBatch(sequences, length);
            own.Should().NotBeSameAs(analysis);
            own.DetectionBatch.Should().AllSatisfy(s => s.Should().HaveCount(length));
            var evidence = report.Evidence.Single(e => e.Hypothesis == name);
            evidence.Measured.Should().Be(own.Detectors.Score(kind, head));
            evidence.Data.OfType<CircuitDsl.Reports.AttentionPatternData>().Single().Tokens.Should().HaveCount(length);
        }

        // [Rotated] reached the rotation with its seed: the residual stream of a model without LayerNorm, logits unchanged.
        var rotated = report.Evidence.Single(e => e.Hypothesis == "RotationChangesNothing");
        (rotated.Verdict, rotated.Unit).Should().Be((Verdict.Holds, "relative logit change, residual stream rotated (seed 1)"));
        rotated.Measured.Should().BeLessThan(1e-5);

        // The [Measured] claim's body ran: ln(d_vocab) = ln 64.
        var uniform = report.Evidence.Single(e => e.Hypothesis == "UniformLoss");
        (uniform.Measured, uniform.Verdict, uniform.Unit).Should().Be((Math.Log(64), Verdict.Holds, "UniformLoss (nats)"));
    }

    [Fact]
    public void The_circuit_documentation_is_what_the_spec_says()
    {
        var documentation = (CircuitDocumentation)Specs.Value.GetType("Specs.Induction")!.GetProperty("Documentation")!.GetValue(null)!;
        documentation.Name.Should().Be("Induction");
        documentation.Model.Should().Be("Toy2L");
        documentation.Paper.Should().Be("Induction Heads");
        documentation.Summary.Should().StartWith("The induction circuit of a two-layer attention-only model: a previous-token head");
        documentation.Hypotheses.Select(h => h.Name).Should().Equal(
            "PreviousToken", "Induction11", "DuplicateToken", "Copying", "KComposition", "NoQComposition", "InductionMatters", "Faithful",
            "NotInduction", "InductionOnLongerBatch", "PreviousTokenOnShortSequences", "Head00Unneeded", "PreviousTokenAloneFallsShort",
            "RotationChangesNothing", "UniformLoss");

        var k = documentation.Hypotheses.Single(h => h.Name == "KComposition");
        k.Kind.Should().Be("Composes");
        k.Claim.Should().Be("Head 1.1 reads its keys from what 0.2 wrote.");
        k.Heads.Should().Equal(new HeadId(1, 1), new HeadId(0, 2));
        k.Arguments.Should().Contain(new KeyValuePair<string, string>("Via", "K")).And.Contain(new KeyValuePair<string, string>("AtLeast", "3"));
        documentation.Hypotheses.Single(h => h.Name == "PreviousToken").Claim.Should().Be("Head 0.2 attends to the previous token.",
            "<c>0.2</c> in the doc comment reads as 0.2");
        documentation.Hypotheses.Single(h => h.Name == "Head00Unneeded").Arguments.Should()
            .Contain(new KeyValuePair<string, string>("RaisesLossByAtMost", "0.05"));
        var uniform = documentation.Hypotheses.Single(h => h.Name == "UniformLoss");
        (uniform.Kind, uniform.Heads.Count).Should().Be(("Measured", 0));
        uniform.Arguments.Should().Equal(new KeyValuePair<string, string>("AtMost", "4.2"), new KeyValuePair<string, string>("Unit", "nats"));
        documentation.Hypotheses.Single(h => h.Name == "RotationChangesNothing").Arguments.Should()
            .Equal(new KeyValuePair<string, string>("Seed", "1"), new KeyValuePair<string, string>("AtMost", "0.0001"));
        documentation.Hypotheses.Single(h => h.Name == "Induction11").Paper.Should().Be("Induction Heads: how they work");
    }

    private static TransformerWeights RandomWeights(int seed)
    {
        var weights = TransformerWeights.Zeros((ModelConfig)Toy2L.GetProperty("Config")!.GetValue(null)!);
        var random = new Random(seed);
        foreach (var (_, tensor) in weights.ToStateDict())
        {
            var span = tensor.Span;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (float)((random.NextDouble() - 0.5) * 0.5);
            }
        }

        return weights;
    }
}
