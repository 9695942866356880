using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using CircuitDsl.Model;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Tests.Weights;

public sealed class ModelFolderTests
{
    public static TheoryData<string, string> FolderPairs => new()
    {
        { "attn_only_st", "attn_only_pth" },
        { "attn_only_st", "attn_only_pth_p4" },
        { "attn_only_st", "attn_only_pth_strided" },
        { "ln_mlp_st", "ln_mlp_pth" },
        { "ln_mlp_f16_ref", "ln_mlp_f16_st" },
        { "ln_mlp_f16_ref", "ln_mlp_f16_pth" },
        { "ln_mlp_bf16_ref", "ln_mlp_bf16_st" },
        { "ln_mlp_bf16_ref", "ln_mlp_bf16_pth" },
    };

    [Theory]
    [MemberData(nameof(FolderPairs))]
    public void The_same_weights_load_to_identical_tensors_from_either_format(string expectedFolder, string actualFolder)
    {
        using var expected = ModelFolder.Load(WeightsFixtures.Folder(expectedFolder));
        using var actual = ModelFolder.Load(WeightsFixtures.Folder(actualFolder));

        actual.Config.Should().Be(expected.Config);
        var expectedTensors = expected.Weights.ToStateDict();
        var actualTensors = actual.Weights.ToStateDict();
        actualTensors.Select(t => t.Key).Should().Equal(expectedTensors.Select(t => t.Key));
        for (var i = 0; i < expectedTensors.Count; i++)
        {
            TensorAssert.Identical(actualTensors[i].Value, expectedTensors[i].Value, expectedTensors[i].Key);
        }
    }

    [Theory]
    [InlineData("attn_only", "attn_only_st")]
    [InlineData("attn_only", "attn_only_pth")]
    [InlineData("ln_mlp", "ln_mlp_st")]
    [InlineData("ln_mlp", "ln_mlp_pth")]
    public void Loaded_tensors_match_torchs_own_summary(string model, string folder)
    {
        // expected.json was computed by torch in float64 from the tensors before they were written.
        var expected = WeightsFixtures.Expected(model);
        using var loaded = ModelFolder.Load(WeightsFixtures.Folder(folder));
        var state = loaded.Weights.ToStateDict().ToDictionary(p => p.Key, p => p.Value);

        state.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, (shape, sum, first, last)) in expected)
        {
            var t = state[name];
            t.Shape.ToArray().Should().Equal(shape, name);
            t.Span[0].Should().Be((float)first, name);
            t.Span[^1].Should().Be((float)last, name);
            t.Span.ToArray().Sum(v => (double)v).Should().BeApproximately(sum, 1e-9, name);
        }
    }

    [Fact]
    public void Config_json_with_transformer_lens_nulls_and_unknown_fields_is_read()
    {
        using var attnOnly = ModelFolder.Load(WeightsFixtures.Folder("attn_only_st"));
        attnOnly.Config.Should().Be(new ModelConfig
        {
            NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 11, NCtx = 6, DMlp = null, AttnOnly = true,
            ActFn = null, NormalizationType = Normalization.None, PositionalEmbeddingType = PositionalEmbedding.Standard, Seed = 1,
        });

        using var lnMlp = ModelFolder.Load(WeightsFixtures.Folder("ln_mlp_pth"));
        lnMlp.Config.DMlp.Should().Be(16);
        lnMlp.Config.ActFn.Should().Be(ActivationFunction.GeluNew);
        lnMlp.Config.NormalizationType.Should().Be(Normalization.LN);
        lnMlp.Weights.Blocks[0].Ln2W!.Shape.ToArray().Should().Equal(8);
    }

    [Fact]
    public void Paths_name_the_folder_and_the_file_that_was_read()
    {
        var dir = WeightsFixtures.Folder("attn_only_pth");
        using var folder = ModelFolder.Load(dir + Path.DirectorySeparatorChar);

        folder.Directory.Should().Be(Path.GetFullPath(dir) + Path.DirectorySeparatorChar);
        folder.WeightsFile.Should().Be(Path.Combine(folder.Directory, "model.pth"));
    }

    [Fact]
    public void Safetensors_is_preferred_when_both_files_are_present()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        File.Copy(WeightsFixtures.Folder("ln_mlp_pth") + "/model.pth", temp.File("model.pth"));

        using var folder = ModelFolder.Load(temp.Path);

        folder.WeightsFile.Should().Be(temp.File("model.safetensors"));
    }

    [Fact]
    public void F32_safetensors_tensors_view_the_mapped_file_without_a_copy()
    {
        using var folder = ModelFolder.Load(WeightsFixtures.Folder("ln_mlp_st"));

        foreach (var (name, tensor) in folder.Weights.ToStateDict())
        {
            MemoryMarshal.TryGetArray<float>(tensor.Memory, out _).Should().BeFalse($"{name} should not be array-backed");
            MemoryMarshal.TryGetMemoryManager<float, MappedFloatMemory>(tensor.Memory, out _).Should().BeTrue(name);
        }
    }

    [Theory]
    [InlineData("ln_mlp_f16_st")]
    [InlineData("ln_mlp_pth")]
    public void Converted_and_pth_tensors_own_their_arrays(string fixture)
    {
        using var folder = ModelFolder.Load(WeightsFixtures.Folder(fixture));

        MemoryMarshal.TryGetArray<float>(folder.Weights.W_E.Memory, out _).Should().BeTrue();
    }

    [Fact]
    public void Writing_into_a_mapped_weight_never_changes_the_file()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        var before = File.ReadAllBytes(temp.File("model.safetensors"));
        float original;
        using (var folder = ModelFolder.Load(temp.Path))
        {
            original = folder.Weights.W_E[0, 0];
            folder.Weights.W_E[0, 0] = 12345f;
            folder.Weights.W_E[0, 0].Should().Be(12345f);
        }

        File.ReadAllBytes(temp.File("model.safetensors")).Should().Equal(before);
        using var again = ModelFolder.Load(temp.Path);
        again.Weights.W_E[0, 0].Should().Be(original);
    }

    [Fact]
    public void After_dispose_mapped_tensors_refuse_access_instead_of_reading_unmapped_memory()
    {
        var folder = ModelFolder.Load(WeightsFixtures.Folder("attn_only_st"));
        var wE = folder.Weights.W_E;
        folder.Dispose();
        folder.Dispose();

        var read = () => wE.Span[0];
        read.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Dispose_releases_every_handle_and_mapping_so_the_folder_can_be_deleted()
    {
        var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        var file = temp.File("model.safetensors");
        var folder = ModelFolder.Load(temp.Path);
        folder.Weights.W_E[0, 0].Should().NotBe(0f);
        if (OperatingSystem.IsLinux())
        {
            OpenOrMapped(file).Should().BeTrue("the mapping is alive while the folder is loaded");
        }

        folder.Dispose();

        if (OperatingSystem.IsLinux())
        {
            OpenOrMapped(file).Should().BeFalse("Dispose must close the file and unmap it");
        }

        Directory.Delete(temp.Path, recursive: true);
        Directory.Exists(temp.Path).Should().BeFalse();
    }

    [Fact]
    public void Loading_a_pth_folder_leaves_no_handle_open()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_pth"));
        using (ModelFolder.Load(temp.Path))
        {
            if (OperatingSystem.IsLinux())
            {
                OpenOrMapped(temp.File("model.pth")).Should().BeFalse();
            }
        }
    }

    [Fact]
    public void Save_then_load_round_trips_exactly()
    {
        using var source = ModelFolder.Load(WeightsFixtures.Folder("ln_mlp_pth"));
        using var temp = new TempFolder();
        var target = Path.Combine(temp.Path, "nested", "model");

        ModelFolder.Save(target, source.Weights);
        using var loaded = ModelFolder.Load(target);

        loaded.Config.Should().Be(source.Config);
        loaded.WeightsFile.Should().EndWith("model.safetensors");
        var expected = source.Weights.ToStateDict();
        var actual = loaded.Weights.ToStateDict();
        for (var i = 0; i < expected.Count; i++)
        {
            actual[i].Key.Should().Be(expected[i].Key);
            TensorAssert.Identical(actual[i].Value, expected[i].Value, expected[i].Key);
        }

        Directory.GetFiles(target).Select(Path.GetFileName).Should().BeEquivalentTo("config.json", "model.safetensors");
    }

    [Fact]
    public void Saved_config_uses_transformer_lens_snake_case_names_and_writes_nulls()
    {
        using var source = ModelFolder.Load(WeightsFixtures.Folder("attn_only_pth"));
        using var temp = new TempFolder();

        ModelFolder.Save(temp.Path, source.Weights);

        var text = File.ReadAllText(temp.File("config.json"));
        text.Should().Contain("\n  \"n_layers\": 1,", "it is indented");
        var json = JsonNode.Parse(text)!.AsObject();
        json.Select(p => p.Key).Should().BeEquivalentTo(
            "n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx", "d_mlp", "attn_only", "act_fn",
            "normalization_type", "positional_embedding_type", "seed");
        json["d_mlp"].Should().BeNull();
        json["attn_only"]!.GetValue<bool>().Should().BeTrue();
    }

    [Theory]
    [InlineData(Normalization.LN, PositionalEmbedding.Shortformer, ActivationFunction.GeluNew, "\"LN\"", "\"shortformer\"", "\"gelu_new\"")]
    [InlineData(Normalization.LNPre, PositionalEmbedding.Standard, ActivationFunction.Relu, "\"LNPre\"", "\"standard\"", "\"relu\"")]
    [InlineData(Normalization.None, PositionalEmbedding.Standard, ActivationFunction.Gelu, "null", "\"standard\"", "\"gelu\"")]
    public void Saved_config_spells_the_architecture_as_transformer_lens_does_and_reads_back(
        Normalization normalization, PositionalEmbedding positional, ActivationFunction actFn, string normJson, string posJson, string actJson)
    {
        var config = new ModelConfig
        {
            NLayers = 1, NHeads = 2, DModel = 8, DHead = 4, DVocab = 11, NCtx = 6, DMlp = 16, ActFn = actFn,
            NormalizationType = normalization, PositionalEmbeddingType = positional,
        };
        using var temp = new TempFolder();

        ModelFolder.Save(temp.Path, TransformerWeights.Zeros(config));

        File.ReadAllText(temp.File("config.json")).ReplaceLineEndings("\n").Should().Be($$"""
            {
              "n_layers": 1,
              "n_heads": 2,
              "d_model": 8,
              "d_head": 4,
              "d_vocab": 11,
              "n_ctx": 6,
              "d_mlp": 16,
              "attn_only": false,
              "act_fn": {{actJson}},
              "normalization_type": {{normJson}},
              "positional_embedding_type": {{posJson}},
              "seed": null
            }

            """);
        using var loaded = ModelFolder.Load(temp.Path);
        loaded.Config.Should().Be(config);
    }

    [Fact]
    public void Saved_safetensors_header_is_padded_so_the_data_is_8_byte_aligned()
    {
        using var source = ModelFolder.Load(WeightsFixtures.Folder("attn_only_pth"));
        using var temp = new TempFolder();

        ModelFolder.Save(temp.Path, source.Weights);

        var bytes = File.ReadAllBytes(temp.File("model.safetensors"));
        var headerLength = (long)BitConverter.ToUInt64(bytes, 0);
        ((8 + headerLength) % 8).Should().Be(0);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        header.Should().StartWith("{\"__metadata__\":{\"format\":\"pt\"}");
        var expectedBytes = source.Weights.ToStateDict().Sum(t => t.Value.Length * 4L);
        (bytes.Length - 8 - headerLength).Should().Be(expectedBytes);
    }

    [Fact]
    public void Save_replaces_an_existing_folder_atomically_and_leaves_no_temporary_files()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        using var other = ModelFolder.Load(WeightsFixtures.Folder("ln_mlp_pth"));

        ModelFolder.Save(temp.Path, other.Weights);

        Directory.GetFiles(temp.Path).Select(Path.GetFileName).Should().BeEquivalentTo("config.json", "model.safetensors");
        using var loaded = ModelFolder.Load(temp.Path);
        loaded.Config.Should().Be(other.Config);
    }

    [Fact]
    public void A_failed_atomic_write_keeps_the_old_file_and_removes_the_temporary_one()
    {
        using var temp = new TempFolder();
        var path = temp.File("model.safetensors");
        File.WriteAllText(path, "old");

        var write = () => AtomicFile.Write(path, s =>
        {
            s.WriteByte(1);
            throw new IOException("disk full");
        });

        write.Should().Throw<IOException>().WithMessage("disk full");
        File.ReadAllText(path).Should().Be("old");
        Directory.GetFiles(temp.Path).Should().ContainSingle();
    }

    [Fact]
    public void A_mapped_folder_can_be_saved_over_itself()
    {
        using var temp = new TempFolder().CopyFrom(WeightsFixtures.Folder("attn_only_st"));
        using var folder = ModelFolder.Load(temp.Path);
        var expected = folder.Weights.W_E.Clone();

        ModelFolder.Save(temp.Path, folder.Weights);

        using var again = ModelFolder.Load(temp.Path);
        TensorAssert.Identical(again.Weights.W_E, expected, "embed.W_E");
    }

    private static bool OpenOrMapped(string file)
    {
        var full = Path.GetFullPath(file);
        var maps = File.ReadAllText("/proc/self/maps");
        if (maps.Contains(full, StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == full)
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked.
            }
        }

        return false;
    }
}
