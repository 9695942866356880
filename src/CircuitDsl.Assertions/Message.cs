namespace CircuitDsl.Assertions;

/// <summary>FluentAssertions reads braces in a failure message as placeholders; text we build ourselves is escaped.</summary>
internal static class Message
{
    public static string Escape(string text) => text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);
}
