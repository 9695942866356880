using CircuitDsl.Reports;

namespace CircuitDsl.Generators.EndToEnd;

/// <summary>Path claims stated against <see cref="TinyLn2L"/>, whose path expansion has every kind of source.</summary>
[Circuit(typeof(TinyLn2L))]
public static partial class TinyPaths
{
    /// <summary>The direct path carries some of the logits.</summary>
    [PathTerm("direct", AtLeast = 0.01)]
    public static partial Evidence Direct(TinyLn2L model);

    /// <summary>The first MLP's paths raise the next token's logit.</summary>
    [PathTerm("mlp0", Measure = PathMeasure.NextTokenLogit, AtLeast = 0.5)]
    public static partial Evidence FirstMlp(TinyLn2L model);

    /// <summary>Head 1.0's term is small.</summary>
    [PathTerm("1.0", AtMost = 0.5)]
    public static partial Evidence Head10(TinyLn2L model);

    /// <summary>The virtual head 1.1 ∘ 0.0 carries little of the logits.</summary>
    [VirtualHead("1.1", Through = "0.0", AtMost = 0.2)]
    public static partial Evidence VirtualHead(TinyLn2L model);

    /// <summary>The virtual head 1.1 ∘ 0.0 hardly moves the next token's logit.</summary>
    [VirtualHead("1.1", Through = "0.0", Measure = PathMeasure.NextTokenLogit, AtMost = 1)]
    public static partial Evidence VirtualHeadLogit(TinyLn2L model);

    /// <summary>The terms through at most one head recover most of the loss.</summary>
    [TermImportance(Order = 1, Recovers = 0.5)]
    public static partial Evidence OneHeadAtMost(TinyLn2L model);

    /// <summary>Every term recovers the whole loss.</summary>
    [TermImportance(Order = 2, Recovers = 1)]
    public static partial Evidence EveryTerm(TinyLn2L model);
}
