namespace CircuitDsl.Generators.Emit;

/// <summary>
/// The public runtime API generated code calls, by fully qualified name, in one place: a renamed runtime type
/// is a one-line change here.
/// </summary>
internal static class RuntimeNames
{
    public const string Tensor = "global::CircuitDsl.Tensors.Tensor";
    public const string ModelConfig = "global::CircuitDsl.Model.ModelConfig";
    public const string TransformerWeights = "global::CircuitDsl.Model.TransformerWeights";
    public const string BlockWeights = "global::CircuitDsl.Model.BlockWeights";
    public const string ActivationCache = "global::CircuitDsl.Model.ActivationCache";
    public const string HookSet = "global::CircuitDsl.Model.HookSet";
    public const string HookNames = "global::CircuitDsl.Model.HookNames";
    public const string ModelFolder = "global::CircuitDsl.Weights.ModelFolder";
    public const string TransformerModelInterface = "global::CircuitDsl.Facade.ITransformerModel";
    public const string TransformerModel = "global::CircuitDsl.Facade.TransformerModel";
    public const string ModelEntry = "global::CircuitDsl.Facade.ModelEntry";
    public const string CircuitEntry = "global::CircuitDsl.Facade.CircuitEntry";
    public const string SpecRegistryInterface = "global::CircuitDsl.Facade.ISpecRegistry";
    public const string SpecRegistryAttribute = "global::CircuitDsl.Facade.SpecRegistryAttribute";
    public const string WeightsFormatException = "global::CircuitDsl.WeightsFormatException";
    public const string FactoredMatrix = "global::CircuitDsl.Circuits.FactoredMatrix";
    public const string HeadCircuits = "global::CircuitDsl.Circuits.HeadCircuits";
    public const string PathTermSet = "global::CircuitDsl.Circuits.PathTermSet";
    public const string PathTerm = "global::CircuitDsl.Circuits.PathTerm";
    public const string PathSource = "global::CircuitDsl.Circuits.PathSource";
    public const string Hypotheses = "global::CircuitDsl.Circuits.Hypotheses";
    public const string TokenData = "global::CircuitDsl.Circuits.TokenData";
    public const string RotationClaims = "global::CircuitDsl.Surgery.RotationClaims";
    public const string Evidence = "global::CircuitDsl.Reports.Evidence";
    public const string CircuitReport = "global::CircuitDsl.Reports.CircuitReport";
    public const string Bound = "global::CircuitDsl.Reports.Bound";
    public const string HeadIdType = "global::CircuitDsl.HeadId";
    public const string HeadRoleType = "global::CircuitDsl.HeadRole";
    public const string CompositionKindType = "global::CircuitDsl.CompositionKind";
    public const string PathMeasureType = "global::CircuitDsl.PathMeasure";
    public const string PatchedActivationType = "global::CircuitDsl.PatchedActivation";
    public const string CircuitDocumentation = "global::CircuitDsl.CircuitDocumentation";
    public const string HypothesisDocumentation = "global::CircuitDsl.HypothesisDocumentation";
    public const string ConfigNamesType = "global::CircuitDsl.ConfigNames";

    /// <summary>
    /// An architecture enum's value as an expression, e.g. <c>global::CircuitDsl.Normalization.None</c>: the generator
    /// compiles the runtime's <c>Architecture.cs</c>, so its enums have the runtime's names.
    /// </summary>
    public static string EnumValue<T>(T value)
        where T : struct, Enum => $"global::{typeof(T).FullName}.{value}";
}
