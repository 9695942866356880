namespace CircuitDsl.Model;

/// <summary>
/// Functions to run at named hook points of the forward pass (TransformerLens names such as
/// <c>blocks.0.attn.hook_z</c>). A hook receives the activation and may change it in place; the rest of the
/// forward pass then sees the changed values. This is how ablation and patching work.
/// </summary>
public sealed class HookSet
{
    private readonly Dictionary<string, List<Action<Tensors.Tensor>>> _hooks = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="hook"/> at <paramref name="name"/>; hooks at one point run in the order added.</summary>
    public HookSet Add(string name, Action<Tensors.Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(hook);
        if (!_hooks.TryGetValue(name, out var list))
        {
            _hooks[name] = list = [];
        }

        list.Add(hook);
        return this;
    }

    /// <summary>The hook point names that have hooks.</summary>
    public IEnumerable<string> Names => _hooks.Keys;

    /// <summary>Whether any hook is registered at <paramref name="name"/>.</summary>
    public bool Has(string name) => _hooks.ContainsKey(name);

    internal void Run(string name, Tensors.Tensor activation)
    {
        if (_hooks.TryGetValue(name, out var list))
        {
            foreach (var hook in list)
            {
                hook(activation);
            }
        }
    }
}
