using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Facade;

/// <summary>
/// The specs compiled into one assembly: every <c>[Transformer]</c> model and every <c>[Circuit]</c>. The source
/// generator emits one implementation per assembly and names it with <see cref="SpecRegistryAttribute"/>; tools such
/// as <c>circuitdsl docs</c> find an assembly's specs through it, typed, without looking members up by name.
/// </summary>
public interface ISpecRegistry
{
    /// <summary>The models, in order of their full names.</summary>
    IReadOnlyList<ModelEntry> Models { get; }

    /// <summary>The circuits, in order of their full names.</summary>
    IReadOnlyList<CircuitEntry> Circuits { get; }
}

/// <summary>Names the assembly's generated <see cref="ISpecRegistry"/>.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class SpecRegistryAttribute : Attribute
{
    /// <summary>The registry is <paramref name="registryType"/>, a class with a public parameterless constructor.</summary>
    public SpecRegistryAttribute(Type registryType)
    {
        ArgumentNullException.ThrowIfNull(registryType);
        RegistryType = registryType;
    }

    /// <summary>The class that implements <see cref="ISpecRegistry"/>.</summary>
    public Type RegistryType { get; }
}

/// <summary>A <c>[Transformer]</c> model class of a registry: its declared architecture and how to load it.</summary>
public abstract class ModelEntry
{
    private protected ModelEntry()
    {
    }

    /// <summary>The model class.</summary>
    public abstract Type Type { get; }

    /// <summary>The model class's name, as reports print it.</summary>
    public string Name => Type.Name;

    /// <summary>The declared architecture.</summary>
    public abstract ModelConfig Config { get; }

    /// <summary>Loads a model folder of the declared architecture (the class's generated <c>Load</c>).</summary>
    /// <exception cref="WeightsFormatException">The folder cannot be read, or its config differs from the declaration.</exception>
    public abstract ITransformerModel Load(string directory);

    /// <summary>The entry of <typeparamref name="TModel"/>.</summary>
    public static ModelEntry For<TModel>()
        where TModel : ITransformerModel<TModel> => new Typed<TModel>();

    private sealed class Typed<TModel> : ModelEntry
        where TModel : ITransformerModel<TModel>
    {
        public override Type Type => typeof(TModel);

        public override ModelConfig Config => TModel.Config;

        public override ITransformerModel Load(string directory) => TModel.Load(directory);
    }
}

/// <summary>
/// A <c>[Circuit]</c> of a registry: its documentation and its check. Circuit classes are static (they hold
/// hypotheses, not state) and so cannot implement an interface; the registry builds each entry from the class's
/// generated <c>Documentation</c> and <c>CheckAll</c> instead.
/// </summary>
public abstract class CircuitEntry
{
    private protected CircuitEntry(CircuitDocumentation documentation, ModelEntry model)
    {
        Documentation = documentation;
        Model = model;
    }

    /// <summary>The circuit as written: prose and hypotheses.</summary>
    public CircuitDocumentation Documentation { get; }

    /// <summary>The circuit's name.</summary>
    public string Name => Documentation.Name;

    /// <summary>The model the hypotheses are about.</summary>
    public ModelEntry Model { get; }

    /// <summary>Checks every hypothesis on <paramref name="model"/>, loaded through <see cref="Model"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not an instance of the circuit's model class.</exception>
    public abstract CircuitReport CheckAll(ITransformerModel model);

    /// <summary>The entry of a circuit about <typeparamref name="TModel"/>: its documentation and its <c>CheckAll</c>.</summary>
    public static CircuitEntry For<TModel>(CircuitDocumentation documentation, Func<TModel, CircuitReport> checkAll)
        where TModel : ITransformerModel<TModel>
    {
        ArgumentNullException.ThrowIfNull(documentation);
        ArgumentNullException.ThrowIfNull(checkAll);
        return new Typed<TModel>(documentation, checkAll);
    }

    private sealed class Typed<TModel>(CircuitDocumentation documentation, Func<TModel, CircuitReport> checkAll)
        : CircuitEntry(documentation, ModelEntry.For<TModel>())
        where TModel : ITransformerModel<TModel>
    {
        public override CircuitReport CheckAll(ITransformerModel model) => model is TModel typed
            ? checkAll(typed)
            : throw new ArgumentException($"{Documentation.Name} checks {typeof(TModel).Name}, not {model?.GetType().Name ?? "null"}.", nameof(model));
    }
}
