namespace CircuitDsl;

/// <summary>
/// Declares a static partial class as a circuit: a set of named hypotheses about one model. Each hypothesis is a
/// <c>static partial Evidence Name(Model model)</c> method carrying one hypothesis attribute
/// (<see cref="PreviousTokenHeadAttribute"/>, <see cref="ComposesAttribute"/>, …); its XML doc summary is the
/// claim in prose. The source generator checks every head id and threshold against the model at compile time,
/// implements the methods, and adds <c>CheckAll(model)</c> and <c>Documentation</c>.
/// </summary>
/// <example>
/// <code>
/// /// &lt;summary&gt;The induction circuit of a two-layer attention-only model.&lt;/summary&gt;
/// [Circuit(typeof(Toy2L), Paper = "Induction Heads")]
/// public static partial class Induction
/// {
///     /// &lt;summary&gt;Head 0.2 attends to the previous token.&lt;/summary&gt;
///     [PreviousTokenHead("0.2", AtLeast = 0.8)]
///     public static partial Evidence PreviousToken(Toy2L model);
/// }
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class CircuitAttribute : Attribute
{
    /// <summary>A circuit about <paramref name="model"/>, a class declared with <see cref="TransformerAttribute"/>.</summary>
    public CircuitAttribute(Type model)
    {
        Model = model;
    }

    /// <summary>The model the hypotheses are about.</summary>
    public Type Model { get; }

    /// <summary>The section of Elhage et al. 2021 (or another source) the circuit comes from, for the documentation.</summary>
    public string? Paper { get; set; }
}
