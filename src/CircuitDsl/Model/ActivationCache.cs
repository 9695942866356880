using System.Collections;
using System.Diagnostics.CodeAnalysis;
using CircuitDsl.Tensors;

namespace CircuitDsl.Model;

/// <summary>
/// Activations recorded during a forward pass, by TransformerLens hook name
/// (<c>blocks.1.attn.hook_pattern</c> is <c>[batch, n_heads, query_pos, key_pos]</c>).
/// </summary>
public sealed class ActivationCache : IReadOnlyDictionary<string, Tensor>
{
    private readonly Dictionary<string, Tensor> _activations = new(StringComparer.Ordinal);

    /// <summary>The activation recorded at <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">Nothing was recorded there; the message lists what was.</exception>
    public Tensor this[string name] =>
        _activations.TryGetValue(name, out var t)
            ? t
            : throw new KeyNotFoundException(
                $"No activation '{name}' in the cache. Recorded: {string.Join(", ", _activations.Keys)}.");

    /// <summary>The attention pattern of <paramref name="layer"/>: <c>[batch, n_heads, query_pos, key_pos]</c>.</summary>
    public Tensor Pattern(int layer) => this[HookNames.Pattern(layer)];

    /// <inheritdoc />
    public IEnumerable<string> Keys => _activations.Keys;

    /// <inheritdoc />
    public IEnumerable<Tensor> Values => _activations.Values;

    /// <inheritdoc />
    public int Count => _activations.Count;

    /// <inheritdoc />
    public bool ContainsKey(string key) => _activations.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => _activations.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _activations.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Add(string name, Tensor activation) => _activations[name] = activation;
}
