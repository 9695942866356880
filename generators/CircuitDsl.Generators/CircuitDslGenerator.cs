using CircuitDsl.Generators.Emit;
using CircuitDsl.Generators.Model;
using CircuitDsl.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CircuitDsl.Generators;

/// <summary>
/// Validates CircuitDsl specs and emits their code: for each <c>[Transformer]</c> class its typed model, for
/// each <c>[Circuit]</c> class its hypothesis checks, and for the assembly a registry of them all. Parsing returns equatable values (no symbols, syntax or
/// locations), so an edit that does not touch a spec reuses the cached output; diagnostics travel as data
/// and are reported from their own output.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class CircuitDslGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var transformers = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                TransformerParser.AttributeName,
                static (node, _) => node is TypeDeclarationSyntax,
                static (syntax, cancellationToken) => TransformerParser.Parse(syntax, cancellationToken))
            .WithTrackingName(TrackingNames.TransformerResults);

        var circuits = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                CircuitParser.AttributeName,
                static (node, _) => node is TypeDeclarationSyntax,
                static (syntax, cancellationToken) => CircuitParser.Parse(syntax, cancellationToken))
            .WithTrackingName(TrackingNames.CircuitResults);

        // A hypothesis written outside a [Circuit] class would never be measured: one provider per hypothesis attribute.
        foreach (var kind in (HypothesisKind[])Enum.GetValues(typeof(HypothesisKind)))
        {
            var strays = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    "CircuitDsl." + kind + "Attribute",
                    static (node, _) => node is MethodDeclarationSyntax,
                    static (syntax, cancellationToken) => CircuitParser.StrayHypothesis(syntax, cancellationToken))
                .WithTrackingName(TrackingNames.StrayHypotheses)
                .Where(static diagnostic => diagnostic is not null);
            context.RegisterSourceOutput(strays, static (output, diagnostic) => output.ReportDiagnostic(diagnostic!.ToDiagnostic()));
        }

        var diagnostics = transformers.SelectMany(static (result, _) => result.Diagnostics)
            .Collect()
            .Combine(circuits.SelectMany(static (result, _) => result.Diagnostics).Collect())
            .SelectMany(static (pair, _) => pair.Left.AddRange(pair.Right))
            .WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (output, diagnostic) => output.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var transformerSpecs = transformers
            .Where(static result => result.Value is not null)
            .Select(static (result, _) => result.Value!)
            .WithTrackingName(TrackingNames.TransformerSpecs);
        context.RegisterSourceOutput(transformerSpecs,
            static (output, spec) => output.AddSource(HintName(spec.Namespace, spec.Name), ModelEmitter.Emit(spec)));

        var circuitSpecs = circuits
            .Where(static result => result.Value is not null)
            .Select(static (result, _) => result.Value!)
            .WithTrackingName(TrackingNames.CircuitSpecs);
        context.RegisterSourceOutput(circuitSpecs,
            static (output, spec) => output.AddSource(HintName(spec.Namespace, spec.Name), CircuitEmitter.Emit(spec)));

        // The registry depends on names alone: a spec's own edits leave this step's input equal, so it is not re-emitted.
        var registry = transformerSpecs.Select(static (spec, _) => spec.FullName).Collect()
            .Combine(circuitSpecs.Select(static (spec, _) => new RegisteredCircuit(spec.FullName, spec.ModelFullName)).Collect())
            .Select(static (pair, _) => new RegistrySpec(
                pair.Left.OrderBy(static name => name, StringComparer.Ordinal).ToEquatableArray(),
                pair.Right.OrderBy(static circuit => circuit.FullName, StringComparer.Ordinal).ToEquatableArray()))
            .WithTrackingName(TrackingNames.Registry);
        context.RegisterSourceOutput(registry, static (output, spec) =>
        {
            if (!spec.IsEmpty)
            {
                output.AddSource(RegistryEmitter.HintName, RegistryEmitter.Emit(spec));
            }
        });
    }

    private static string HintName(string? ns, string name) => (ns is null ? name : ns + "." + name) + ".g.cs";
}
