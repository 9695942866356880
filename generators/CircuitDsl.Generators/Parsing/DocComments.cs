using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;

namespace CircuitDsl.Generators.Parsing;

/// <summary>
/// Reads the <c>&lt;summary&gt;</c> of a declaration's <c>///</c> comment as plain prose. It reads the trivia
/// itself rather than <c>ISymbol.GetDocumentationCommentXml</c>, which is empty when a project does not
/// generate a documentation file.
/// </summary>
internal static class DocComments
{
    public static string Summary(SyntaxNode? declaration)
    {
        if (declaration is null)
        {
            return "";
        }

        var xml = new StringBuilder();
        foreach (var line in declaration.GetLeadingTrivia().ToFullString().Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("///", StringComparison.Ordinal))
            {
                xml.Append(trimmed.Substring(3)).Append('\n');
            }
        }

        if (xml.Length == 0)
        {
            return "";
        }

        try
        {
            var root = XElement.Parse("<doc>" + xml + "</doc>", LoadOptions.None);
            var summary = root.Element("summary");
            return summary is null ? "" : Collapse(Text(summary));
        }
        catch (XmlException)
        {
            // Malformed XML in a comment is the compiler's to warn about; keep the words without the markup.
            return Collapse(StripTags(xml.ToString()));
        }
    }

    private static string Text(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    text.Append(t.Value);
                    break;
                case XElement { Name.LocalName: "see" or "seealso" } e:
                    text.Append(e.IsEmpty ? ReferenceName(e) : Text(e));
                    break;
                case XElement { Name.LocalName: "paramref" or "typeparamref" } e:
                    text.Append((string?)e.Attribute("name") ?? "");
                    break;
                case XElement { Name.LocalName: "para" } e:
                    text.Append(' ').Append(Text(e)).Append(' ');
                    break;
                case XElement e:
                    text.Append(Text(e));
                    break;
            }
        }

        return text.ToString();
    }

    private static string ReferenceName(XElement see)
    {
        var reference = (string?)see.Attribute("cref") ?? (string?)see.Attribute("langword") ?? (string?)see.Attribute("href") ?? "";
        return reference.Length > 2 && reference[1] == ':' ? reference.Substring(2) : reference;
    }

    private static string StripTags(string text)
    {
        var result = new StringBuilder();
        var inTag = false;
        foreach (var c in text)
        {
            if (c == '<')
            {
                inTag = true;
            }
            else if (c == '>')
            {
                inTag = false;
            }
            else if (!inTag)
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    private static string Collapse(string text)
    {
        var result = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                if (result.Length > 0 && result[result.Length - 1] != ' ')
                {
                    result.Append(' ');
                }
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString().Trim();
    }
}
