using System.Reflection;
using FluentAssertions;
using Xunit;

namespace CircuitDsl.Tests.Architecture;

/// <summary>
/// The shape of the house, read from the compiled assemblies: each project references only the projects below it
/// (the runtime never the presentation, <c>CircuitDsl.Docs</c>, or the command line), and no namespace depends on itself through others.
/// </summary>
public sealed class DependencyTests
{
    /// <summary>Our assemblies and the ones of ours each may reference: dependencies point one way.</summary>
    private static readonly Dictionary<string, string[]> Layers = new()
    {
        ["CircuitDsl.Abstractions"] = [],
        ["CircuitDsl"] = ["CircuitDsl.Abstractions"],
        ["CircuitDsl.Assertions"] = ["CircuitDsl.Abstractions", "CircuitDsl"],
        ["CircuitDsl.Docs"] = ["CircuitDsl.Abstractions", "CircuitDsl"],
        ["CircuitDsl.Cli"] = ["CircuitDsl.Abstractions", "CircuitDsl", "CircuitDsl.Docs", "CircuitDsl.Specs"],
    };

    [Fact]
    public void Each_assembly_references_only_the_layers_below_it()
    {
        var unexpected = Layers.SelectMany(layer => Assembly.Load(layer.Key).GetReferencedAssemblies()
                .Select(r => r.Name!)
                .Where(name => name.StartsWith("CircuitDsl", StringComparison.Ordinal) && !layer.Value.Contains(name))
                .Select(name => $"{layer.Key} references {name}"))
            .ToList();

        unexpected.Should().BeEmpty("each project may reference only the ones listed for it in {0}", nameof(Layers));
    }

    [Fact]
    public void No_namespace_depends_on_itself_through_others()
    {
        var edges = NamespaceEdges(Layers.Keys.Select(Assembly.Load));

        Cycles(edges).Should().BeEmpty("a namespace that reaches itself through others cannot be understood, tested or moved alone");
    }

    [Fact]
    public void Circuit_analysis_does_not_depend_on_training()
    {
        // Measuring a model must not need the code that makes one: the tasks' planted structure lives in Tasks, which both read.
        var edges = NamespaceEdges([typeof(global::CircuitDsl.Tensors.Tensor).Assembly]);

        edges.Where(e => e.Key.From == "CircuitDsl.Circuits" && e.Key.To == "CircuitDsl.Training").Select(e => e.Value)
            .Should().BeEmpty();
    }

    [Fact]
    public void A_cycle_is_reported_with_the_types_that_make_it()
    {
        var edges = new Dictionary<(string, string), string>
        {
            [("A", "B")] = "A.X -> B.Y",
            [("B", "C")] = "B.Y -> C.Z",
            [("C", "A")] = "C.Z -> A.W",
            [("C", "D")] = "C.Z -> D.V",
        };

        Cycles(edges).Should().Equal("A -> B -> C -> A (A.X -> B.Y; B.Y -> C.Z; C.Z -> A.W)");
    }

    [Fact]
    public void The_runtime_namespaces_are_seen_depending_on_each_other()
    {
        // Guards the reader: if IL scanning silently found nothing, the cycle test above would pass vacuously.
        var edges = NamespaceEdges([typeof(global::CircuitDsl.Tensors.Tensor).Assembly]);

        edges.Keys.Should().Contain([("CircuitDsl.Model", "CircuitDsl.Tensors"), ("CircuitDsl.Weights", "CircuitDsl.Model"),
            ("CircuitDsl.Circuits", "CircuitDsl.Tasks"), ("CircuitDsl.Training", "CircuitDsl.Model")]);
    }

    /// <summary>Namespace → namespace dependencies among our types, each with one type-level example.</summary>
    private static Dictionary<(string From, string To), string> NamespaceEdges(IEnumerable<Assembly> assemblies)
    {
        var ours = assemblies.ToList();
        var edges = new Dictionary<(string, string), string>();
        foreach (var type in ours.SelectMany(a => a.GetTypes()))
        {
            if (Namespace(type) is not { } from)
            {
                continue;
            }

            foreach (var referenced in TypeReferences.Of(type))
            {
                if (Namespace(referenced) is { } to && to != from && ours.Contains(referenced.Assembly))
                {
                    edges.TryAdd((from, to), $"{type.FullName} -> {referenced.FullName}");
                }
            }
        }

        return edges;
    }

    /// <summary>Our namespace of a type, or null for the compiler's and the platform's types.</summary>
    private static string? Namespace(Type type) =>
        type.Namespace is { } ns && (ns == "CircuitDsl" || ns.StartsWith("CircuitDsl.", StringComparison.Ordinal)) ? ns : null;

    /// <summary>Every distinct cycle, as "A -> B -> A (example; example)", shortest path through each edge that closes one.</summary>
    private static List<string> Cycles(Dictionary<(string From, string To), string> edges)
    {
        var next = edges.Keys.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Order(StringComparer.Ordinal).ToList());
        var seen = new HashSet<string>();
        var cycles = new List<string>();
        foreach (var (from, to) in edges.Keys.OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal))
        {
            if (PathBetween(next, to, from) is not { } back)
            {
                continue;
            }

            List<string> cycle = [from, .. back];
            var key = string.Join(",", cycle.Skip(1).Order(StringComparer.Ordinal));
            if (seen.Add(key))
            {
                var examples = cycle.Zip(cycle.Skip(1)).Select(e => edges[e]);
                cycles.Add($"{string.Join(" -> ", cycle)} ({string.Join("; ", examples)})");
            }
        }

        return cycles;
    }

    /// <summary>The shortest path from <paramref name="start"/> to <paramref name="goal"/>, both included, or null.</summary>
    private static List<string>? PathBetween(Dictionary<string, List<string>> next, string start, string goal)
    {
        var previous = new Dictionary<string, string> { [start] = start };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var node))
        {
            if (node == goal)
            {
                var path = new List<string> { goal };
                while (path[^1] != start)
                {
                    path.Add(previous[path[^1]]);
                }

                path.Reverse();
                return path;
            }

            foreach (var n in next.GetValueOrDefault(node, []))
            {
                if (previous.TryAdd(n, node))
                {
                    queue.Enqueue(n);
                }
            }
        }

        return null;
    }
}
