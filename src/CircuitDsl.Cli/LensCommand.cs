using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using Spectre.Console;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl lens</c>: the logit lens on token sequences (docs/math.md, "Residual stream, logit lens and direct
/// logit attribution"): per accumulated residual stream, the mean log-probability of the correct next token.
/// </summary>
internal static class LensCommand
{
    public static Command Create(TextWriter output)
    {
        var dir = Commands.ModelDirectory();
        var json = Commands.JsonOption(
            "Print {\"layers\": [{\"layer\", \"log_prob\", \"log_prob_own_scale\"}]}; without it, a table.");
        var command = new Command("lens", "The logit lens: how well each layer's residual stream already predicts the next token.")
        {
            dir, json,
        };
        var tokens = TokenInput.AddTo(command, required: true);
        command.SetAction(parse =>
        {
            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir));
            var batch = tokens.Read(parse, folder)!;
            var decomposition = ResidualDecomposition.Compute(folder.Weights, batch);
            Commands.RequireFinite(folder, decomposition.Logits);
            IReadOnlyList<LensLayer> frozen, own;
            try
            {
                frozen = decomposition.LogitLens();
                own = decomposition.LogitLens(recomputeScale: true);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }

            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    layers = frozen.Zip(own, (f, o) => new { layer = f.Label, log_prob = -f.MeanLoss, log_prob_own_scale = -o.MeanLoss }),
                }));
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("residual stream")
                .AddColumn("log p(next), final σ").AddColumn("log p(next), own σ");
            foreach (var (f, o) in frozen.Zip(own))
            {
                table.AddRow(Markup.Escape(f.Label), (-f.MeanLoss).ToString("F4", CultureInfo.InvariantCulture),
                    (-o.MeanLoss).ToString("F4", CultureInfo.InvariantCulture));
            }

            Commands.Console(output).Write(table);
            return 0;
        });
        return command;
    }
}
