using System.Globalization;
using CircuitDsl.Generators.Diagnostics;
using CircuitDsl.Generators.Model;
using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Parsing;

/// <summary>Reads and validates a model spec's <c>[TrainedOn]</c> (its model card).</summary>
internal static class ModelCardParser
{
    public const string AttributeName = "CircuitDsl.TrainedOnAttribute";

    /// <summary>
    /// The model card of <paramref name="model"/>; null when it has none, or when it is invalid (each problem is
    /// added to <paramref name="diagnostics"/> at the argument that causes it).
    /// </summary>
    public static ModelCard? Read(INamedTypeSymbol model, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
    {
        var attribute = model.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == AttributeName);
        if (attribute is null)
        {
            return null;
        }

        var args = new AttributeArguments(attribute, cancellationToken);
        if (!args.IsBound || args.Positional(0).IsBroken())
        {
            return null;
        }

        var ok = true;
        void Problem(LocationInfo? location, string message)
        {
            ok = false;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidModelCard, location, model.Name, message));
        }

        var task = args.Positional(0).AsString();
        if (task is null || Array.IndexOf(TaskNames.All, task) < 0)
        {
            Problem(args.PositionalLocation(0),
                $"{(task is null ? "null" : "'" + task + "'")} is not a training task (known: {string.Join(", ", TaskNames.All)})");
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

        var steps = Int("Steps");
        if (steps <= 0 && !args.Named("Steps").IsBroken())
        {
            Problem(args.NamedLocation("Steps"), args.Has("Steps")
                ? $"Steps must be positive, not {steps.ToString(CultureInfo.InvariantCulture)}"
                : "Steps must be given (the number of optimizer steps the weights were trained for)");
        }

        var seed = Int("Seed");
        if (seed < 0)
        {
            Problem(args.NamedLocation("Seed"), $"Seed must not be negative, not {seed.ToString(CultureInfo.InvariantCulture)}");
        }

        var seedCount = 1;
        if (args.Has("Seeds"))
        {
            void SeedsProblem(string message)
            {
                ok = false;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSeeds, args.NamedLocation("Seeds"), model.Name,
                    $"Seeds = {args.NamedText("Seeds")}: {message}"));
            }

            var seeds = args.Named("Seeds");
            if (seeds is { Kind: TypedConstantKind.Array, IsNull: false } list)
            {
                var values = list.Values.Select(v => v.Value is int i ? i : -1).ToList();
                seedCount = values.Count;
                if (args.Has("Seed"))
                {
                    SeedsProblem("give Seeds or Seed, not both (Seed names the one seed of a model trained once)");
                }
                else if (values.Count == 0)
                {
                    SeedsProblem("the list is empty; list the seeds the weights were trained on, e.g. Seeds = new[] { 0, 1, 2, 3, 4 }");
                }
                else if (values.FirstOrDefault(v => v < 0) is var negative && negative < 0)
                {
                    SeedsProblem($"a seed must not be negative, not {negative.ToString(CultureInfo.InvariantCulture)}");
                }
                else if (values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1) is { } twice)
                {
                    SeedsProblem($"seed {twice.Key.ToString(CultureInfo.InvariantCulture)} is listed twice");
                }
                else
                {
                    seed = values[0];
                }
            }
            else if (!seeds.IsBroken())
            {
                SeedsProblem("the list is null; list the seeds the weights were trained on, e.g. Seeds = new[] { 0, 1, 2, 3, 4 }");
            }
            else
            {
                ok = false;
            }
        }

        if (string.IsNullOrWhiteSpace(args.Named("Weights").AsString()) && !args.Named("Weights").IsBroken())
        {
            Problem(args.NamedLocation("Weights"), "Weights must name the model folder, relative to the spec assembly (e.g. Weights = \"weights/induction-2l\")");
        }

        if (args.Named("LearningRate").TryGetDouble(out var lr) && !(lr > 0 && !double.IsInfinity(lr)))
        {
            Problem(args.NamedLocation("LearningRate"), $"LearningRate, when given, must be a positive number, not {HypothesisParser.Number(lr)}");
        }

        if (args.Named("BatchSize").TryGetInt(out var batchSize) && batchSize <= 0)
        {
            Problem(args.NamedLocation("BatchSize"), $"BatchSize, when given, must be positive, not {batchSize.ToString(CultureInfo.InvariantCulture)}");
        }

        return ok ? new ModelCard(task!, seed, seedCount) : null;
    }
}
