using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Text;
using CircuitDsl.Weights;

namespace CircuitDsl.Facade;

/// <summary>
/// What every <c>[Transformer]</c> class shares whatever its architecture: the weights, the forward pass, the circuit
/// analysis and the model folder to release. The source generator makes each model class derive from it and adds
/// only the typed members (layers, heads, the typed cache, the path terms); it also holds the checked loading the
/// generated <c>Load</c> and <c>FromWeights</c> call.
/// </summary>
public abstract class TransformerModel : ITransformerModel
{
    private readonly ModelFolder? _folder;
    private HookedTransformer? _transformer;
    private ModelAnalysis? _analysis;
    private Tokenizer? _tokenizer;
    private bool _tokenizerRead;

    /// <summary>A model over <paramref name="weights"/>, owning <paramref name="folder"/> (if any) they were loaded from.</summary>
    protected TransformerModel(TransformerWeights weights, ModelFolder? folder)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Weights = weights;
        _folder = folder;
    }

    /// <summary>The weights, under TransformerLens names; the typed members are views of them.</summary>
    public TransformerWeights Weights { get; }

    /// <summary>Token embedding <c>[d_vocab, d_model]</c>.</summary>
    public Tensor W_E => Weights.W_E;

    /// <summary>Positional embedding <c>[n_ctx, d_model]</c>.</summary>
    public Tensor W_pos => Weights.W_pos;

    /// <summary>Unembedding <c>[d_model, d_vocab]</c>.</summary>
    public Tensor W_U => Weights.W_U;

    /// <summary>Unembedding bias <c>[d_vocab]</c>.</summary>
    public Tensor b_U => Weights.b_U;

    /// <summary>The runtime's forward pass over <see cref="Weights"/>, created on first use.</summary>
    public HookedTransformer Transformer => _transformer ??= new HookedTransformer(Weights);

    /// <summary>
    /// Circuit analysis of these weights (composition, copying, head detection) after TransformerLens's default
    /// weight processing, created on first use and named after the model class; the circuits' hypotheses are checked
    /// against it.
    /// </summary>
    public ModelAnalysis Analysis => _analysis ??= new ModelAnalysis(Weights, modelName: GetType().Name);

    /// <summary>The logits <c>[batch, pos, d_vocab]</c> for <paramref name="tokens"/> (one array per sequence).</summary>
    public Tensor Forward(int[][] tokens, HookSet? hooks = null) => Transformer.Forward(tokens, hooks);

    /// <summary>
    /// The tokenizer: the one the model folder carries (<see cref="Tokenizer.FromFolder"/>, read on first use), or the
    /// one set here (e.g. <see cref="Text.Tokenizer.Gpt2"/> for weights built in memory); null when there is none.
    /// </summary>
    /// <exception cref="WeightsFormatException">The folder's tokenizer files cannot be read.</exception>
    public Tokenizer? Tokenizer
    {
        get
        {
            if (!_tokenizerRead)
            {
                _tokenizer ??= _folder is null ? null : Tokenizer.FromFolder(_folder.Directory);
                _tokenizerRead = true;
            }

            return _tokenizer;
        }
        set
        {
            _tokenizer = value;
            _tokenizerRead = true;
        }
    }

    /// <summary>
    /// TransformerLens's <c>to_tokens</c> for one string: a batch of one sequence, <paramref name="text"/>'s token ids
    /// after the BOS token when <paramref name="prependBos"/> (the default, as for GPT-2 in TransformerLens); never
    /// truncated. Pass the result to <see cref="Forward"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no <see cref="Tokenizer"/>.</exception>
    /// <exception cref="ArgumentException">The text is too long to encode, or BOS is asked for and the vocabulary has none.</exception>
    public int[][] ToTokens(string text, bool prependBos = true) => [RequireTokenizer().Encode(text, prependBos)];

    /// <summary>TransformerLens's <c>to_str_tokens</c> for a string: each token's text, BOS first when <paramref name="prependBos"/>.</summary>
    /// <exception cref="InvalidOperationException">The model has no <see cref="Tokenizer"/>.</exception>
    public string[] ToStrTokens(string text, bool prependBos = true) => RequireTokenizer().ToStrTokens(RequireTokenizer().Encode(text, prependBos));

    /// <summary>TransformerLens's <c>to_str_tokens</c> for token ids: each token's own text.</summary>
    /// <exception cref="InvalidOperationException">The model has no <see cref="Tokenizer"/>.</exception>
    public string[] ToStrTokens(IEnumerable<int> tokens) => RequireTokenizer().ToStrTokens(tokens);

    /// <summary>TransformerLens's <c>to_string</c>: the text of <paramref name="tokens"/>, special tokens written out.</summary>
    /// <exception cref="InvalidOperationException">The model has no <see cref="Tokenizer"/>.</exception>
    public string ToString(IEnumerable<int> tokens) => RequireTokenizer().Decode(tokens);

    private Tokenizer RequireTokenizer() => Tokenizer ?? throw new InvalidOperationException(
        $"{GetType().Name} has no tokenizer: load it from a model folder that carries one (tokenizer.json, vocab.json + merges.txt, or \"tokenizer_name\": \"gpt2\" in config.json), or set {nameof(Tokenizer)}.");

    /// <summary>Releases the model folder the weights were loaded from, if any.</summary>
    public void Dispose()
    {
        _folder?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Loads the model folder <paramref name="directory"/> and wraps it with <paramref name="create"/> (which takes
    /// ownership of the folder) when its config is <typeparamref name="TModel"/>'s declared one.
    /// </summary>
    /// <exception cref="WeightsFormatException">
    /// The folder cannot be read, or its config differs from the declaration; the message names each field.
    /// </exception>
    public static TModel Load<TModel>(string directory, Func<TransformerWeights, ModelFolder, TModel> create)
        where TModel : ITransformerModel<TModel>
    {
        ArgumentNullException.ThrowIfNull(create);
        var folder = ModelFolder.Load(directory);
        try
        {
            var mismatch = folder.Config.DescribeMismatch(TModel.Config, typeof(TModel).Name);
            return mismatch is null
                ? create(folder.Weights, folder)
                : throw new WeightsFormatException(Path.Combine(directory, ModelFolder.ConfigFileName), null, mismatch);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>Wraps <paramref name="weights"/> with <paramref name="create"/> when their config is <typeparamref name="TModel"/>'s declared one.</summary>
    /// <exception cref="ArgumentException">The weights' config differs from the declaration; the message names each field.</exception>
    public static TModel FromWeights<TModel>(TransformerWeights weights, Func<TransformerWeights, TModel> create)
        where TModel : ITransformerModel<TModel>
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(create);
        var mismatch = weights.Config.DescribeMismatch(TModel.Config, typeof(TModel).Name);
        return mismatch is null ? create(weights) : throw new ArgumentException(mismatch, nameof(weights));
    }
}
