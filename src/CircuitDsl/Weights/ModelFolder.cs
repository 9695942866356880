using CircuitDsl.Model;

namespace CircuitDsl.Weights;

/// <summary>
/// A model folder, the project's interchange format: <c>config.json</c> (TransformerLens
/// <c>HookedTransformerConfig</c> names) and the weights as <c>model.safetensors</c> or <c>model.pth</c>,
/// under TransformerLens state-dict names and shapes.
/// </summary>
/// <remarks>
/// <para><see cref="Load"/> prefers <c>model.safetensors</c>. Its F32 tensors are views of the memory-mapped
/// file (copy-on-write: writing into a weight never changes the file), so the folder must stay undisposed while
/// <see cref="Weights"/> is in use; after <see cref="Dispose"/> those tensors throw
/// <see cref="ObjectDisposedException"/>. <c>model.pth</c> is read with a restricted unpickler that refuses
/// everything but tensors, so loading an untrusted file cannot run code.</para>
/// <para>Every problem — a missing folder or file, bad JSON, an invalid config, a corrupt weights file, a
/// missing, extra or wrongly shaped tensor — is a <see cref="WeightsFormatException"/> that names the file and,
/// where there is one, the tensor.</para>
/// </remarks>
public sealed class ModelFolder : IDisposable
{
    /// <summary>The config file's name.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>The safetensors weights file's name (preferred, and what <see cref="Save"/> writes).</summary>
    public const string SafetensorsFileName = "model.safetensors";

    /// <summary>The PyTorch weights file's name (<c>torch.save(model.state_dict(), ...)</c>).</summary>
    public const string PthFileName = "model.pth";

    private readonly SafetensorsFile? _mapped;

    private ModelFolder(string directory, string weightsFile, TransformerWeights weights, SafetensorsFile? mapped)
    {
        Directory = directory;
        WeightsFile = weightsFile;
        Weights = weights;
        _mapped = mapped;
    }

    /// <summary>The architecture, from <c>config.json</c>.</summary>
    public ModelConfig Config => Weights.Config;

    /// <summary>The weights, checked against <see cref="Config"/>.</summary>
    public TransformerWeights Weights { get; }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    /// <summary>The full path of the weights file that was read.</summary>
    public string WeightsFile { get; }

    /// <summary>Loads the model folder <paramref name="dir"/>.</summary>
    /// <exception cref="WeightsFormatException">The folder, its config or its weights cannot be used.</exception>
    public static ModelFolder Load(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var full = Path.GetFullPath(dir);
        if (!System.IO.Directory.Exists(full))
        {
            throw new WeightsFormatException(full, null,
                File.Exists(full) ? "is a file, not a model folder." : "the model folder does not exist.");
        }

        // A folder the user may not list hides its files: without this, config.json would be reported missing.
        try
        {
            using var entries = System.IO.Directory.EnumerateFileSystemEntries(full).GetEnumerator();
            entries.MoveNext();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFormatException(full, null, "cannot read the model folder: " + e.Message, e);
        }

        var config = ConfigJson.Read(Path.Combine(full, ConfigFileName), out var huggingFace);
        Func<string, bool> ignored = huggingFace ? Gpt2Checkpoint.IsIgnoredBuffer : TransformerWeights.IsIgnoredBuffer;
        var safetensors = Path.Combine(full, SafetensorsFileName);
        if (File.Exists(safetensors))
        {
            var file = SafetensorsFile.Open(safetensors, ignored);
            TransformerWeights weights;
            try
            {
                weights = FromStateDict(config, file.Tensors, safetensors, huggingFace);
            }
            catch
            {
                file.Dispose();
                throw;
            }

            // A file whose tensors were all copied (F16, BF16) has already released its mapping.
            return new ModelFolder(full, safetensors, weights, file.IsMapped ? file : null);
        }

        var pth = Path.Combine(full, huggingFace ? Gpt2Checkpoint.PytorchFileName : PthFileName);
        if (File.Exists(pth))
        {
            var tensors = PthFile.Read(pth, ignored);
            return new ModelFolder(full, pth, FromStateDict(config, tensors, pth, huggingFace), null);
        }

        throw new WeightsFormatException(full, null,
            $"no weights file: expected {SafetensorsFileName} or {(huggingFace ? Gpt2Checkpoint.PytorchFileName : PthFileName)}.");
    }

    /// <summary>
    /// <see cref="TransformerWeights.FromStateDict"/>, after refusing a config that claims more blocks than the file
    /// has tensors: every block needs at least eight, and the list of expected names for a config claiming two
    /// billion layers would exhaust memory before the first missing one could be named.
    /// </summary>
    private static TransformerWeights FromStateDict(ModelConfig config, IReadOnlyDictionary<string, Tensor> tensors, string file, bool huggingFace)
    {
        if (huggingFace)
        {
            tensors = Gpt2Checkpoint.ToTransformerLens(config, tensors, file);
        }

        if (config.NLayers > tensors.Count)
        {
            var blocks = 0;
            while (tensors.Keys.Any(name => name.StartsWith($"blocks.{blocks}.", StringComparison.Ordinal)))
            {
                blocks++;
            }

            throw new WeightsFormatException(file, $"blocks.{blocks}.attn.W_Q",
                $"missing (a model with n_layers={config.NLayers} needs it; the file holds {blocks} block{(blocks == 1 ? "" : "s")}).");
        }

        return TransformerWeights.FromStateDict(config, tensors, file);
    }

    /// <summary>
    /// Writes <paramref name="weights"/> to the folder <paramref name="dir"/> (created if needed) as
    /// <c>model.safetensors</c> (F32) and <c>config.json</c>. Each file is replaced atomically: it is written
    /// to a temporary file in the same folder, flushed to disk and renamed over the old one. A new (missing or empty)
    /// folder appears whole: both files are written into a temporary sibling folder that is then renamed into place,
    /// so a crash during a first save leaves no model rather than weights without a config.
    /// </summary>
    /// <exception cref="IOException">The folder or a file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">Writing is not permitted.</exception>
    public static void Save(string dir, TransformerWeights weights)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        ArgumentNullException.ThrowIfNull(weights);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        if (System.IO.Directory.Exists(full) && System.IO.Directory.EnumerateFileSystemEntries(full).Any())
        {
            WriteFiles(full, weights);
            return;
        }

        var parent = System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!).FullName;
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            WriteFiles(System.IO.Directory.CreateDirectory(temp).FullName, weights);
            if (System.IO.Directory.Exists(full))
            {
                System.IO.Directory.Delete(full);
            }

            System.IO.Directory.Move(temp, full);
        }
        catch
        {
            if (System.IO.Directory.Exists(temp))
            {
                try
                {
                    System.IO.Directory.Delete(temp, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The original failure is the one worth reporting; a leftover .tmp folder is harmless.
                }
            }

            throw;
        }
    }

    private static void WriteFiles(string full, TransformerWeights weights)
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        AtomicFile.Write(Path.Combine(full, SafetensorsFileName),
            stream => SafetensorsFile.Write(stream, weights.ToStateDict(), metadata));
        AtomicFile.Write(Path.Combine(full, ConfigFileName), stream =>
        {
            stream.Write(ConfigJson.Serialize(weights.Config));
            stream.WriteByte((byte)'\n');
        });
    }

    /// <inheritdoc />
    public void Dispose() => _mapped?.Dispose();
}
