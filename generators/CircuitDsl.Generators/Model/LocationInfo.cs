using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace CircuitDsl.Generators.Model;

/// <summary>
/// Where a diagnostic points, as plain values: a <see cref="Location"/> holds its syntax tree, which would keep
/// every compilation alive and defeat the pipeline's caching.
/// </summary>
internal sealed record LocationInfo(string FilePath, TextSpan TextSpan, LinePositionSpan LineSpan)
{
    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());

    public static LocationInfo? From(Location location) =>
        location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);

    public Location ToLocation() => Location.Create(FilePath, TextSpan, LineSpan);
}
