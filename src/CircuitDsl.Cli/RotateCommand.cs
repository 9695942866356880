using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Surgery;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl rotate</c>: a seeded random orthogonal change of basis of the residual stream, the heads' bases or
/// the MLP neurons, written as a new model folder, with how far the logits moved (docs/mix-and-match.md, "Rotations").
/// </summary>
internal static class RotateCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var seed = new Option<int>("--seed") { Description = "Seeds the random rotations: same seed, same rotated model.", Required = true };
        var outDir = new Option<string>("--out") { Description = "The model folder to write (not DIR).", Required = true };
        var headBasis = new Option<bool>("--head-basis")
        {
            Description = "Rotate each head's d_head basis (queries with keys, values with outputs) instead of the residual stream.",
        };
        var neurons = new Option<bool>("--neurons")
        {
            Description = "Rotate each MLP's hidden basis instead of the residual stream (changes the logits).",
        };
        var json = Commands.JsonOption(
            "Print {\"rotated\", \"seed\", \"max_abs_logit_difference\", \"relative_logit_difference\", \"loss_original\", \"loss_rotated\", \"out\"}.");
        var command = new Command("rotate",
            "Apply a random orthogonal change of basis to the residual stream (default), the heads' bases or the MLP neurons, and write the rotated model.")
        {
            dir, seed, outDir, headBasis, neurons, json,
        };
        var tokens = TokenInput.AddTo(command, required: false, "The logits are compared on them (default: the default detection batch).");
        command.SetAction(parse =>
        {
            var input = parse.GetRequiredValue(dir);
            var target = parse.GetRequiredValue(outDir);
            DerivedModel.RequireDistinct(input, target);
            var what = (parse.GetValue(headBasis) ? RotatedBases.HeadBases : RotatedBases.None)
                | (parse.GetValue(neurons) ? RotatedBases.Neurons : RotatedBases.None);
            if (what == RotatedBases.None)
            {
                what = RotatedBases.ResidualStream;
            }

            using var folder = Commands.LoadFinite(input);
            var batch = tokens.Read(parse, folder) ?? HeadDetector.DefaultBatch(folder.Config);
            var rotated = Rotation.Rotate(folder.Weights, what, parse.GetValue(seed));
            var change = Rotation.Compare(folder.Weights, rotated, batch);
            ModelFolder.Save(target, rotated);
            if (parse.GetValue(json))
            {
                Commands.WriteJsonObject(output, writer => Json(writer, what, parse.GetValue(seed), change, target));
            }
            else
            {
                output.WriteLine(Text(what, change, target));
            }

            return 0;
        });
        return command;
    }

    private static IEnumerable<string> Names(RotatedBases what) =>
        new[] { (RotatedBases.ResidualStream, "residual_stream"), (RotatedBases.HeadBases, "head_basis"), (RotatedBases.Neurons, "neurons") }
            .Where(p => what.HasFlag(p.Item1)).Select(p => p.Item2);

    private static void Json(Utf8JsonWriter writer, RotatedBases what, int seed, LogitChange change, string target)
    {
        writer.WriteStartArray("rotated");
        foreach (var name in Names(what))
        {
            writer.WriteStringValue(name);
        }

        writer.WriteEndArray();
        writer.WriteNumber("seed", seed);
        writer.WriteNumber("max_abs_logit_difference", change.MaxAbsDifference);
        writer.WriteNumber("relative_logit_difference", change.Relative);
        Commands.WriteNumberOrNull(writer, "loss_original", change.LossBefore);
        Commands.WriteNumberOrNull(writer, "loss_rotated", change.LossAfter);
        writer.WriteString("out", target);
    }

    private static string Text(RotatedBases what, LogitChange change, string target) => string.Create(CultureInfo.InvariantCulture,
        $"wrote {target}: rotated {string.Join(" and ", Names(what)).Replace('_', ' ')}; logits moved by at most {change.MaxAbsDifference:G3} "
        + $"({change.Relative:G3} of the largest logit); loss {change.LossBefore:F4} -> {change.LossAfter:F4} nats/token");
}
