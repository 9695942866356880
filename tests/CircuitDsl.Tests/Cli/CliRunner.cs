using CircuitDsl.Cli;

namespace CircuitDsl.Tests.Cli;

/// <summary>Runs the <c>circuitdsl</c> command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
