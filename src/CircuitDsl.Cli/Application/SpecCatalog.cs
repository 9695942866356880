using System.Reflection;
using CircuitDsl.Facade;

namespace CircuitDsl.Cli.Application;

/// <summary>
/// The specs compiled into an assembly, found through the registry the source generator emits into it
/// (<see cref="SpecRegistryAttribute"/> naming an <see cref="ISpecRegistry"/>): typed model and circuit entries,
/// nothing looked up by member name.
/// </summary>
internal static class SpecCatalog
{
    /// <summary>The specs that ship with the tool: the paper's models and hypotheses.</summary>
    public static Assembly Bundled => typeof(CircuitDsl.Specs.SpecsAssembly).Assembly;

    /// <summary>The circuits of <paramref name="assembly"/>, in name order; none when it has no generated registry.</summary>
    public static IReadOnlyList<CircuitEntry> Circuits(Assembly assembly) =>
        Registry(assembly)?.Circuits.OrderBy(c => c.Name, StringComparer.Ordinal).ToList() ?? [];

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

    private static ISpecRegistry? Registry(Assembly assembly)
    {
        var type = assembly.GetCustomAttribute<SpecRegistryAttribute>()?.RegistryType;
        if (type is null)
        {
            return null;
        }

        return Activator.CreateInstance(type) as ISpecRegistry
            ?? throw new UsageException($"{assembly.GetName().Name}: {type.FullName} names no CircuitDsl spec registry (was it built with the CircuitDsl generator?).");
    }
}
