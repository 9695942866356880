using System.Text;

namespace CircuitDsl.Generators.Emit;

/// <summary>A plain indented writer: lines, blocks and nothing clever, so the emitters read like the code they write.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    /// <summary>Writes one line at the current indentation; an empty line has no trailing spaces.</summary>
    public SourceWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indent * 4).Append(line);
        }

        _text.Append('\n');
        return this;
    }

    /// <summary>Writes a multi-line block (a raw string literal), each line at the current indentation.</summary>
    public SourceWriter Lines(string block)
    {
        foreach (var line in block.Replace("\r\n", "\n").Split('\n'))
        {
            Line(line);
        }

        return this;
    }

    /// <summary>Writes <c>{</c> and indents.</summary>
    public SourceWriter Open(string? header = null)
    {
        if (header is not null)
        {
            Line(header);
        }

        Line("{");
        _indent++;
        return this;
    }

    /// <summary>Unindents and writes <c>}</c> (with an optional suffix such as <c>;</c> or <c>,</c>).</summary>
    public SourceWriter Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        return this;
    }

    public SourceWriter Indent()
    {
        _indent++;
        return this;
    }

    public SourceWriter Unindent()
    {
        _indent--;
        return this;
    }

    public override string ToString() => _text.ToString();
}
