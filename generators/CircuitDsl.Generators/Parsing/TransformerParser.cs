using System.Globalization;
using CircuitDsl.Generators.Diagnostics;
using CircuitDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CircuitDsl.Generators.Parsing;

/// <summary>Turns a <c>[Transformer]</c> class into a <see cref="TransformerSpec"/> and its diagnostics.</summary>
internal static class TransformerParser
{
    public const string AttributeName = "CircuitDsl.TransformerAttribute";

    // The emitted model has a member per layer and per head; beyond these it would be no use to read.
    public const int MaxLayers = 128;
    public const int MaxHeads = 256;

    public static SpecResult<TransformerSpec> Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var diagnostics = new List<DiagnosticInfo>();
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration)
        {
            return new SpecResult<TransformerSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        var shapeOk = CheckClassShape(type, declaration, isStatic: false,
            "a non-static partial class declared directly in a namespace (not nested, not generic, without a base class)", diagnostics);
        var architecture = context.Attributes.Length == 0
            ? null
            : ReadArchitecture(context.Attributes[0], type.Name, diagnostics, cancellationToken);

        ModelCardParser.Read(type, diagnostics, cancellationToken);
        var spec = shapeOk && architecture is not null
            ? new TransformerSpec(NamespaceOf(type), type.Name, architecture)
            : null;
        return new SpecResult<TransformerSpec>(spec, diagnostics.ToEquatableArray());
    }

    /// <summary>
    /// Reads and validates the architecture; null when it is impossible (or the compiler could not bind an
    /// argument). Problems are added to <paramref name="diagnostics"/> at the argument that causes them.
    /// </summary>
    public static Architecture? ReadArchitecture(AttributeData attribute, string typeName, List<DiagnosticInfo> diagnostics,
        CancellationToken cancellationToken)
    {
        var args = new AttributeArguments(attribute, cancellationToken);
        if (!args.IsBound)
        {
            // The compiler reports what it could not bind; sizes read around it would only add wrong complaints.
            return null;
        }

        var ok = true;

        void Problem(string argument, string message)
        {
            ok = false;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ImpossibleArchitecture, args.NamedLocation(argument), typeName, message));
        }

        int Int(string name)
        {
            var value = args.Named(name);
            if (value.IsBroken())
            {
                ok = false;
            }

            return value.TryGetInt(out var i) ? i : 0;
        }

        var layers = Int("NLayers");
        var heads = Int("NHeads");
        var dModel = Int("DModel");
        var dHead = Int("DHead");
        var vocab = Int("DVocab");
        var context = Int("NCtx");
        var dMlp = Int("DMlp");
        var attentionOnly = args.Named("AttnOnly").TryGetBool(out var b) && b;
        var normalization = Enum(args, "NormalizationType", Normalization.LN, Problem);
        var positional = Enum(args, "PositionalEmbeddingType", PositionalEmbedding.Standard, Problem);
        var actFn = Enum(args, "ActFn", ActivationFunction.Gelu, Problem);

        void Positive(string name, int value)
        {
            if (value <= 0 && !args.Named(name).IsBroken())
            {
                Problem(name, args.Has(name)
                    ? $"{name} must be positive, not {value.ToString(CultureInfo.InvariantCulture)}"
                    : $"{name} must be given (a positive number)");
            }
        }

        if (layers < 0)
        {
            Problem("NLayers", $"NLayers must not be negative, not {layers.ToString(CultureInfo.InvariantCulture)}");
        }
        else if (layers > MaxLayers)
        {
            Problem("NLayers", $"NLayers = {layers.ToString(CultureInfo.InvariantCulture)} is more than the {MaxLayers} the generator emits typed members for");
        }

        Positive("DModel", dModel);
        Positive("DVocab", vocab);
        Positive("NCtx", context);
        if (layers > 0)
        {
            Positive("NHeads", heads);
            Positive("DHead", dHead);
            if (heads > MaxHeads)
            {
                Problem("NHeads", $"NHeads = {heads.ToString(CultureInfo.InvariantCulture)} is more than the {MaxHeads} the generator emits typed members for");
            }

            if (attentionOnly && args.Has("DMlp"))
            {
                Problem("DMlp", $"DMlp = {dMlp.ToString(CultureInfo.InvariantCulture)} must not be given: an attention-only model has no MLP");
            }
            else if (!attentionOnly)
            {
                if (!args.Has("DMlp"))
                {
                    Problem("AttnOnly", "a model with MLPs needs DMlp; give DMlp, or set AttnOnly = true");
                }
                else
                {
                    Positive("DMlp", dMlp);
                }
            }
        }

        return ok
            ? new Architecture(layers, heads, dModel, dHead, vocab, context, attentionOnly || layers == 0 ? null : dMlp,
                attentionOnly, normalization, positional, actFn)
            : null;
    }

    /// <summary>
    /// Checks that a spec class can be given generated members: a class (not a record or struct), partial, at
    /// namespace level, not generic, static or not as required, and deriving from nothing (the generated part of a
    /// model derives from the runtime's <c>TransformerModel</c>).
    /// </summary>
    public static bool CheckClassShape(INamedTypeSymbol type, TypeDeclarationSyntax declaration, bool isStatic, string shape,
        List<DiagnosticInfo> diagnostics)
    {
        var ok = declaration is ClassDeclarationSyntax
            && declaration.Modifiers.Any(SyntaxKind.PartialKeyword)
            && type.IsStatic == isStatic
            && type.ContainingType is null
            && type.TypeParameters.Length == 0
            && type.BaseType is null or { SpecialType: SpecialType.System_Object };
        if (!ok)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SpecClassShape,
                LocationInfo.From(declaration.Identifier.GetLocation()), type.Name, shape));
        }

        return ok;
    }

    public static string? NamespaceOf(INamedTypeSymbol type) =>
        type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null;

    private static T Enum<T>(AttributeArguments args, string name, T fallback, Action<string, string> problem)
        where T : struct, System.Enum
    {
        var value = args.Named(name);
        if (value is null || value.IsBroken() || !value.TryGetEnum(out var raw))
        {
            return fallback;
        }

        if (!System.Enum.IsDefined(typeof(T), raw))
        {
            problem(name, $"{name} = {raw.ToString(CultureInfo.InvariantCulture)} is not a defined {typeof(T).Name} value");
            return fallback;
        }

        return (T)(object)raw;
    }
}
