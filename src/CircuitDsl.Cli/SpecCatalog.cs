using System.Reflection;
using System.Runtime.ExceptionServices;
using CircuitDsl.Circuits;
using CircuitDsl.Model;
using CircuitDsl.Reports;

namespace CircuitDsl.Cli;

/// <summary>
/// The circuit specs compiled into an assembly, found by reflection over what the source generator emits: a
/// <c>[Circuit]</c> class's static <c>Documentation</c> and <c>CheckAll(model)</c>, and its model class's static
/// <c>Load(directory)</c>, <c>Config</c> and instance <c>Analysis</c>. A model's weights are where its
/// <see cref="TrainedOnAttribute"/> says.
/// </summary>
internal static class SpecCatalog
{
    /// <summary>The circuits of <paramref name="assembly"/>, in name order.</summary>
    public static IReadOnlyList<CircuitSpec> Circuits(Assembly assembly)
    {
        var circuits = new List<CircuitSpec>();
        foreach (var type in assembly.GetTypes().Where(t => t.GetCustomAttribute<CircuitAttribute>() is not null).OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var model = type.GetCustomAttribute<CircuitAttribute>()!.Model;
            var documentation = type.GetProperty("Documentation", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as CircuitDocumentation;
            var checkAll = type.GetMethod("CheckAll", BindingFlags.Public | BindingFlags.Static, [model]);
            if (documentation is null || checkAll is null)
            {
                throw new UsageException($"{assembly.GetName().Name}: {type.FullName} has [Circuit] but no generated Documentation/CheckAll (was it built with the CircuitDsl generator?).");
            }

            circuits.Add(new CircuitSpec(type, ModelSpec.Of(model), documentation, checkAll));
        }

        return circuits;
    }

    /// <summary>Loads an assembly of specs from a file.</summary>
    public static Assembly LoadAssembly(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"{path}: spec assembly not found.");
        }

        try
        {
            return Assembly.LoadFrom(Path.GetFullPath(path));
        }
        catch (BadImageFormatException)
        {
            throw new UsageException($"{path}: not a .NET assembly.");
        }
    }

    /// <summary>Calls a generated member, unwrapping the reflection wrapper so its own exception surfaces.</summary>
    public static object? Invoke(MethodInfo method, object? target, params object?[] args)
    {
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}

/// <summary>A model spec: its generated type, architecture and model card.</summary>
internal sealed record ModelSpec(Type Type, ModelConfig Config, TrainedOnAttribute? Training)
{
    public string Name => Type.Name;

    /// <summary>The bundled weights folder named by <see cref="TrainedOnAttribute.Weights"/>, if the spec has one.</summary>
    public string? BundledWeights => Training is { Weights.Length: > 0 } t ? t.WeightsDirectory(Type) : null;

    public static ModelSpec Of(Type model)
    {
        var config = model.GetProperty("Config", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as ModelConfig
            ?? throw new UsageException($"{model.FullName} is not a generated [Transformer] model (no static Config).");
        return new ModelSpec(model, config, model.GetCustomAttribute<TrainedOnAttribute>());
    }

    /// <summary>Loads the model from a folder through its generated <c>Load</c>, which checks the folder against the spec.</summary>
    public IDisposable Load(string directory)
    {
        var load = Type.GetMethod("Load", BindingFlags.Public | BindingFlags.Static, [typeof(string)])
            ?? throw new UsageException($"{Type.FullName} has no generated Load(string).");
        return (IDisposable)SpecCatalog.Invoke(load, null, directory)!;
    }

    /// <summary>The analysis a loaded model checks its hypotheses with.</summary>
    public static ModelAnalysis Analysis(object model) =>
        (ModelAnalysis)model.GetType().GetProperty("Analysis")!.GetValue(model)!;

    /// <summary>The model-card rows of the docs: how the weights were made.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Card(string weightsDirectory)
    {
        var rows = new List<KeyValuePair<string, string>>();
        if (Training is { } t)
        {
            rows.Add(new("trained on", $"{t.Task}, {t.Steps} steps, seed {t.Seed}"));
        }

        rows.Add(new("weights", weightsDirectory));
        return rows;
    }
}

/// <summary>A circuit spec: its generated type, model, documentation and check.</summary>
internal sealed record CircuitSpec(Type Type, ModelSpec Model, CircuitDocumentation Documentation, MethodInfo CheckAllMethod)
{
    public CircuitReport CheckAll(object model) => (CircuitReport)SpecCatalog.Invoke(CheckAllMethod, null, model)!;
}
