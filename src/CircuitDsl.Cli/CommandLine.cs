using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using CircuitDsl.Cli.Application;
using CircuitDsl.Tensors;
using CircuitDsl.Weights;

namespace CircuitDsl.Cli;

/// <summary>
/// The <c>circuitdsl</c> command: the contract docs/cli.md describes. Exit codes: 0 success,
/// 1 a check that ran and failed, 2 bad input (one line on standard error, never a stack trace).
/// </summary>
public static class CommandLine
{
    /// <summary>Exit code for bad arguments, unreadable or malformed files.</summary>
    public const int BadInput = 2;

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("CircuitDsl: circuit hypotheses about small transformers, checked on their weights.")
        {
            Commands.Logits(output),
            Commands.Loss(output),
            PathsCommand.Create(output),
            LensCommand.Create(output),
            AttributeCommand.Create(output),
            InspectCommand.Create(output),
            TrainCommand.Create(output),
            DocsCommand.Create(output),
            DemoCommand.Create(output),
            ExtractCommand.Create(output),
            RotateCommand.Create(output),
            ComposeCommand.Create(output),
            SampleCommand.Create(output),
            PatchCommand.Create(output),
            ViewCommand.Create(output),
            ConvertCommand.Create(output),
        };
        foreach (var version in root.Options.OfType<VersionOption>())
        {
            version.Action = new VersionAction(output);
        }

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"circuitdsl: {parsed.Errors[0].Message} (see circuitdsl --help)");
            return BadInput;
        }

        try
        {
            var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
            return parsed.InvokeAsync(configuration).GetAwaiter().GetResult();
        }
        catch (Exception e) when (IsBadInput(e))
        {
            error.WriteLine($"circuitdsl: {Reason(e)}");
            return BadInput;
        }
    }

    /// <summary>What is wrong, in the user's words: an argument exception's message without the runtime's parameter name.</summary>
    public static string Reason(Exception e) => e is ArgumentException { ParamName: { } name }
        ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
        : e.Message;

    /// <summary>The version line: the tool's version and the matrix-multiply backend in use.</summary>
    public static string VersionLine() =>
        $"circuitdsl {typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?"}"
        + $" (gemm: {Gemm.Describe()})";

    private static bool IsBadInput(Exception e) =>
        e is WeightsFormatException or UsageException or ArgumentException or IOException or UnauthorizedAccessException;

    private sealed class VersionAction(TextWriter output) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            output.WriteLine(VersionLine());
            return 0;
        }
    }
}
