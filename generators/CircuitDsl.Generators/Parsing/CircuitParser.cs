using System.Globalization;
using CircuitDsl.Generators.Diagnostics;
using CircuitDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CircuitDsl.Generators.Parsing;

/// <summary>
/// Turns a <c>[Circuit]</c> class into a <see cref="CircuitSpec"/> and its diagnostics: the class and each
/// hypothesis method must have the right shape, and every head id and threshold must make sense for the model.
/// </summary>
internal static class CircuitParser
{
    public const string AttributeName = "CircuitDsl.CircuitAttribute";
    private const string EvidenceName = "global::CircuitDsl.Reports.Evidence";

    public static SpecResult<CircuitSpec> Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var diagnostics = new List<DiagnosticInfo>();
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax declaration
            || context.Attributes.Length == 0)
        {
            return new SpecResult<CircuitSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        var shapeOk = TransformerParser.CheckClassShape(type, declaration, isStatic: true,
            "a static partial class declared directly in a namespace (not nested, not generic)", diagnostics);

        var circuit = new AttributeArguments(context.Attributes[0], cancellationToken);
        if (circuit.Positional(0) is not { Kind: TypedConstantKind.Type, Value: INamedTypeSymbol model }
            || model.TypeKind == TypeKind.Error)
        {
            // typeof(...) that does not bind: the compiler says so.
            return new SpecResult<CircuitSpec>(null, diagnostics.ToEquatableArray());
        }

        var transformer = model.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == TransformerParser.AttributeName);
        Architecture? architecture = null;
        if (transformer is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelWithoutTransformer, circuit.PositionalLocation(0),
                type.Name, model.Name));
        }
        else
        {
            // The model's own problems are reported where the model is declared; here they only mean that head
            // ids cannot be checked against it.
            architecture = TransformerParser.ReadArchitecture(transformer, model.Name, new List<DiagnosticInfo>(), cancellationToken);
        }

        // Like the architecture, the model card's problems are reported on the model; here an invalid card is no card.
        var card = ModelCardParser.Read(model, new List<DiagnosticInfo>(), cancellationToken);
        var hypotheses = new List<HypothesisSpec>();
        var rejected = new List<RejectedHypothesis>();
        var claims = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (member is not IMethodSymbol method)
            {
                continue;
            }

            var attributes = method.GetAttributes().Where(a => KindOf(a) is not null).ToList();
            if (attributes.Count == 0)
            {
                continue;
            }

            if (attributes.Count > 1)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleHypotheses,
                    new AttributeArguments(attributes[1], cancellationToken).Location, method.Name,
                    string.Join("], [", attributes.Select(a => KindOf(a).ToString()))));
                var anyMeasured = attributes.Any(a => KindOf(a) == HypothesisKind.Measured);
                if (CheckMethodShape(method, model, anyMeasured, diagnostics, cancellationToken) && !anyMeasured)
                {
                    rejected.Add(HypothesisParser.Rejected(method, cancellationToken));
                }

                continue;
            }

            var kind = KindOf(attributes[0])!.Value;
            var methodOk = CheckMethodShape(method, model, kind == HypothesisKind.Measured, diagnostics, cancellationToken);
            var parser = new HypothesisParser(attributes[0], kind, method, model.Name, architecture,
                card, diagnostics, cancellationToken);
            var hypothesis = parser.Parse();
            if (hypothesis is null || claims.ContainsKey(parser.ClaimKey))
            {
                if (hypothesis is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateHypothesis, parser.Arguments.Location,
                        method.Name, claims[parser.ClaimKey], parser.ClaimKey));
                }

                if (methodOk && kind != HypothesisKind.Measured)
                {
                    rejected.Add(HypothesisParser.Rejected(method, cancellationToken));
                }

                continue;
            }

            claims.Add(parser.ClaimKey, method.Name);
            if (methodOk && hypothesis.Claim.Length == 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingClaim, LocationInfo.From(method.Locations.FirstOrDefault() ?? Location.None),
                    method.Name));
            }

            if (methodOk)
            {
                hypotheses.Add(hypothesis);
            }
        }

        var spec = shapeOk && architecture is not null
            ? new CircuitSpec(
                TransformerParser.NamespaceOf(type),
                type.Name,
                model.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                model.Name,
                DocComments.Summary(declaration),
                circuit.Named("Paper").AsString(),
                hypotheses.ToEquatableArray(),
                rejected.ToEquatableArray())
            : null;
        return new SpecResult<CircuitSpec>(spec, diagnostics.ToEquatableArray());
    }

    /// <summary>
    /// A hypothesis attribute's method outside a <c>[Circuit]</c> class: the diagnostic saying it is never checked;
    /// null when its class is a circuit (whose parsing checks everything else).
    /// </summary>
    public static DiagnosticInfo? StrayHypothesis(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not IMethodSymbol { ContainingType: { } type } method || context.Attributes.Length == 0
            || type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeName))
        {
            return null;
        }

        var attribute = context.Attributes[0];
        return DiagnosticInfo.Create(DiagnosticDescriptors.HypothesisOutsideCircuit, new AttributeArguments(attribute, cancellationToken).Location,
            KindOf(attribute)?.ToString() ?? attribute.AttributeClass?.Name ?? "", method.Name, type.Name);
    }

    private static HypothesisKind? KindOf(AttributeData attribute)
    {
        var type = attribute.AttributeClass;
        if (type is null || type.ContainingNamespace?.ToDisplayString() != "CircuitDsl" || !type.Name.EndsWith("Attribute", StringComparison.Ordinal))
        {
            return null;
        }

        var name = type.Name.Substring(0, type.Name.Length - "Attribute".Length);
        return Enum.TryParse<HypothesisKind>(name, out var kind) && Enum.IsDefined(typeof(HypothesisKind), kind) && name == kind.ToString()
            ? kind
            : null;
    }

    /// <summary>
    /// A built-in kind's method is <c>static partial Evidence Name(Model model);</c> without a body (CDSL008); a
    /// <c>[Measured]</c> method is <c>static double Name(Model model)</c> (or <c>float</c>) with one (CDSL016).
    /// </summary>
    private static bool CheckMethodShape(IMethodSymbol method, INamedTypeSymbol model, bool measured, List<DiagnosticInfo> diagnostics,
        CancellationToken cancellationToken)
    {
        var syntax = method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) as MethodDeclarationSyntax;
        var hasBody = method.PartialImplementationPart is not null || syntax?.Body is not null || syntax?.ExpressionBody is not null;
        string? problem = null;
        if (!measured && (syntax is null || !syntax.Modifiers.Any(SyntaxKind.PartialKeyword)))
        {
            problem = "it is not partial";
        }
        else if (!method.IsStatic)
        {
            problem = "it is not static";
        }
        else if (!measured && hasBody)
        {
            problem = "it has a body; the generator writes it (a value your own code measures is a [Measured] claim)";
        }
        else if (measured && !hasBody)
        {
            problem = "it has no body; write the code that measures the value";
        }
        else if (method.IsGenericMethod)
        {
            problem = "it is generic";
        }
        else if (!measured && method.ReturnType.TypeKind != TypeKind.Error
            && method.ReturnType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) != EvidenceName)
        {
            problem = $"it returns {method.ReturnType.ToDisplayString()}, not CircuitDsl.Reports.Evidence";
        }
        else if (measured && method.ReturnType.TypeKind != TypeKind.Error
            && method.ReturnType.SpecialType is not (SpecialType.System_Double or SpecialType.System_Single))
        {
            problem = $"it returns {method.ReturnType.ToDisplayString()}, not double or float";
        }
        else if (method.Parameters.Length != 1)
        {
            problem = $"it takes {method.Parameters.Length.ToString(CultureInfo.InvariantCulture)} parameters, not one";
        }
        else if (method.Parameters[0].RefKind != RefKind.None || method.Parameters[0].IsParams)
        {
            problem = "its parameter must be a plain value parameter";
        }
        else if (method.Parameters[0].Type.TypeKind != TypeKind.Error
            && !SymbolEqualityComparer.Default.Equals(method.Parameters[0].Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated), model))
        {
            problem = $"its parameter is {method.Parameters[0].Type.ToDisplayString()}, not {model.Name}";
        }

        if (problem is null)
        {
            return method.ReturnType.TypeKind != TypeKind.Error && method.Parameters[0].Type.TypeKind != TypeKind.Error;
        }

        var location = syntax is null ? LocationInfo.From(method.Locations.FirstOrDefault() ?? Location.None) : LocationInfo.From(syntax.Identifier.GetLocation());
        diagnostics.Add(DiagnosticInfo.Create(measured ? DiagnosticDescriptors.MeasuredMethodShape : DiagnosticDescriptors.HypothesisMethodShape,
            location, method.Name, model.Name, problem));
        return false;
    }
}
