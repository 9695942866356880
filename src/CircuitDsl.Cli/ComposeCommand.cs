using System.CommandLine;
using System.Globalization;
using CircuitDsl.Circuits;
using CircuitDsl.Cli.Application;
using CircuitDsl.Model;
using CircuitDsl.Surgery;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// <c>circuitdsl compose</c>: one model out of parts of several, without a gradient step (docs/mix-and-match.md,
/// "Composition"); writes a plain model folder and reports the stream maps, the mixing weights and the losses.
/// </summary>
internal static class ComposeCommand
{
    public static Command Create(TextWriter output)
    {
        var parts = new Option<string[]>("--part")
        {
            Description = "A part: a model folder, optionally with the heads to keep after a colon (DIR:0.2,1.3); give it once per part, two or more.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var align = new Option<string>("--align")
        {
            Description = "none: the direct sum of the parts' residual streams (exact without LayerNorm); embed: one stream, the first part's, with the others mapped in by least squares on the embeddings.",
            DefaultValueFactory = _ => "none",
        };
        align.AcceptOnlyFromAmong("none", "embed");
        var fit = new Option<string>("--fit-tokens")
        {
            Description = "JSON tokens file: fit one mixing weight per part on it (and mean-ablate dropped heads over it); report the losses.",
        };
        var outDir = new Option<string>("--out") { Description = "The model folder to write.", Required = true };
        var json = Commands.JsonOption("Print the report as JSON.");
        var command = new Command("compose", "Build one model out of parts of several models, without training.")
        {
            parts, align, fit, outDir, json,
        };
        command.SetAction(parse =>
        {
            var specs = parse.GetRequiredValue(parts);
            var alignment = parse.GetValue(align) == "embed" ? CompositionAlignment.Embed : CompositionAlignment.None;
            var target = parse.GetRequiredValue(outDir);
            var folders = new List<ModelFolder>();
            try
            {
                var sources = specs.Select(PartSpec.Parse).ToList();
                foreach (var source in sources)
                {
                    DerivedModel.RequireDistinct(source.Directory, target);
                    folders.Add(Commands.LoadFinite(source.Directory));
                }

                if (Composition.DescribeIncompatibility(folders.Select(f => f.Config).ToList(), alignment) is { } why)
                {
                    throw new UsageException($"cannot compose: {why}");
                }

                var nCtx = folders.Min(f => f.Config.NCtx);
                var fitPath = parse.GetValue(fit);
                var tokens = fitPath is null ? null : TokensFile.Read(fitPath, folders[0].Config with { NCtx = nCtx });
                var weights = sources.Select((s, i) => s.Select(folders[i], tokens)).ToList();
                var maps = alignment == CompositionAlignment.Embed ? StreamMap.Fit(weights) : null;
                var mixing = tokens is null ? null : MixingWeights.Fit(weights, alignment, tokens, maps);
                var composite = Composition.Compose(weights, alignment, mixing?.Alpha, maps);
                ModelFolder.Save(target, composite);
                Report(output, parse.GetValue(json), sources, composite.Config, maps, mixing, parse.GetValue(align)!);
                return 0;
            }
            finally
            {
                foreach (var f in folders)
                {
                    f.Dispose();
                }
            }
        });
        return command;
    }

    private static void Report(TextWriter output, bool json, IReadOnlyList<PartSpec> parts, ModelConfig config,
        IReadOnlyList<StreamMap>? maps, MixingWeights? mixing, string align)
    {
        if (json)
        {
            Commands.WriteJsonObject(output, writer =>
            {
                writer.WriteString("align", align);
                writer.WriteStartObject("config");
                writer.WriteNumber("n_layers", config.NLayers);
                writer.WriteNumber("n_heads", config.NHeads);
                writer.WriteNumber("d_model", config.DModel);
                writer.WriteNumber("d_head", config.DHead);
                writer.WriteNumber("n_ctx", config.NCtx);
                writer.WriteEndObject();
                writer.WriteStartArray("parts");
                for (var i = 0; i < parts.Count; i++)
                {
                    writer.WriteStartObject();
                    writer.WriteString("dir", parts[i].Directory);
                    if (parts[i].Heads is { } heads)
                    {
                        writer.WriteStartArray("heads");
                        foreach (var head in heads)
                        {
                            writer.WriteStringValue(head.ToString());
                        }

                        writer.WriteEndArray();
                    }
                    else
                    {
                        writer.WriteNull("heads");
                    }

                    Commands.WriteNumberOrNull(writer, "reader_residual", maps?[i].ReaderResidual);
                    Commands.WriteNumberOrNull(writer, "writer_residual", maps?[i].WriterResidual);
                    Commands.WriteNumberOrNull(writer, "loss", mixing?.PartLosses[i]);
                    writer.WriteNumber("mixing", mixing?.Alpha[i] ?? 1.0);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                Commands.WriteNumberOrNull(writer, "loss_unmixed", mixing?.UnitLoss);
                Commands.WriteNumberOrNull(writer, "loss", mixing?.FittedLoss);
            });
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv,
            $"composite ({align}): {config.NLayers} layers × {config.NHeads} heads, d_model {config.DModel}, d_head {config.DHead}, n_ctx {config.NCtx}"));
        for (var i = 0; i < parts.Count; i++)
        {
            var line = string.Create(inv, $"  part {i + 1} {parts[i].Directory}{(parts[i].Heads is { } h ? " heads " + string.Join(",", h) : "")}: mixing weight {mixing?.Alpha[i] ?? 1.0:F4}");
            if (maps is not null && i > 0)
            {
                line += string.Create(inv, $", stream map error {maps[i].ReaderResidual:F4} (read) {maps[i].WriterResidual:F4} (write)");
            }

            if (mixing is not null)
            {
                line += string.Create(inv, $", its own loss {mixing.PartLosses[i]:F4}");
            }

            output.WriteLine(line);
        }

        if (mixing is not null)
        {
            output.WriteLine(string.Create(inv, $"  composite loss on the fitting tokens: {mixing.UnitLoss:F4} with every weight 1, {mixing.FittedLoss:F4} fitted"));
        }
    }

    /// <summary>One <c>--part DIR[:HEADS]</c>: a folder and, optionally, the heads to keep.</summary>
    private sealed record PartSpec(string Directory, IReadOnlyList<HeadId>? Heads)
    {
        public static PartSpec Parse(string text)
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0 || System.IO.Directory.Exists(text))
            {
                return new PartSpec(text, null);
            }

            return new PartSpec(text[..colon], DerivedModel.ParseHeads($"--part {text}", text[(colon + 1)..]));
        }

        /// <summary>The part's weights: all of them, or only <see cref="Heads"/> (the others mean-ablated over the fitting tokens, or zeroed without them).</summary>
        public TransformerWeights Select(ModelFolder folder, int[][]? tokens)
        {
            if (Heads is null)
            {
                return folder.Weights;
            }

            var c = folder.Config;
            foreach (var h in Heads)
            {
                if (h.Layer >= c.NLayers || h.Head >= c.NHeads)
                {
                    throw new UsageException($"--part {Directory}: no head {h} in a model of {c.NLayers} layers × {c.NHeads} heads.");
                }
            }

            var model = new HookedTransformer(folder.Weights);
            // The fitting tokens were checked against the shortest context of all parts, so they fit this one.
            return Surgery.Extraction.ExtractCircuit(model, Heads, tokens is null ? AblationKind.Zero : AblationKind.Mean, tokens).Weights;
        }
    }
}
