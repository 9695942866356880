namespace CircuitDsl.Cli.Application;

/// <summary>A problem with what the user asked for, reported as one line with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
