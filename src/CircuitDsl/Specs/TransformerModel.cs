using CircuitDsl.Model;
using CircuitDsl.Weights;

namespace CircuitDsl;

/// <summary>
/// Loading a <c>[Transformer]</c> class's weights with its config checked against the declaration: what the
/// generated <c>Load</c> and <c>FromWeights</c> of every model class call.
/// </summary>
public static class TransformerModel
{
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
