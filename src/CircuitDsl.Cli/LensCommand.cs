using System.CommandLine;
using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
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
            using var folder = Commands.LoadFinite(parse.GetRequiredValue(dir), tokens.HasText(parse));
            var batch = tokens.Read(parse, folder)!;
            IReadOnlyList<LensMean> layers;
            try
            {
                layers = ResidualDecomposition.LogitLensMeans(folder.Weights, batch);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException(e.Message);
            }
            catch (NonFiniteLogitException e)
            {
                throw Commands.Overflow(folder, e.Sequence, e.Position, e.Token, e.Value);
            }

            if (parse.GetValue(json))
            {
                Commands.WriteJsonObject(output, writer =>
                {
                    writer.WriteStartArray("layers");
                    foreach (var l in layers)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("layer", l.Label);
                        writer.WriteNumber("log_prob", -l.MeanLoss);
                        writer.WriteNumber("log_prob_own_scale", -l.MeanLossOwnScale);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                });
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("residual stream")
                .AddColumn("log p(next), final σ").AddColumn("log p(next), own σ");
            foreach (var l in layers)
            {
                table.AddRow(Markup.Escape(l.Label), (-l.MeanLoss).ToString("F4", CultureInfo.InvariantCulture),
                    (-l.MeanLossOwnScale).ToString("F4", CultureInfo.InvariantCulture));
            }

            Commands.Console(output).Write(table);
            return 0;
        });
        return command;
    }
}
