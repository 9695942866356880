using CircuitDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CircuitDsl.Generators.Parsing;

/// <summary>
/// One attribute application's arguments, each with the location of the expression that wrote it, so a
/// diagnostic can point at the exact argument. A value the compiler could not bind reads as broken, and an
/// attribute with a syntax error or an argument name it does not have reads as unbound: the compiler reports
/// those itself, and the generator stays quiet about them.
/// </summary>
internal sealed class AttributeArguments
{
    private readonly AttributeData _data;
    private readonly AttributeSyntax? _syntax;

    public AttributeArguments(AttributeData data, CancellationToken cancellationToken)
    {
        _data = data;
        _syntax = data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        IsBound = data.AttributeConstructor is not null
            && _syntax?.ContainsDiagnostics != true
            && NamedSyntaxArguments().All(name => data.NamedArguments.Any(pair => pair.Key == name));
    }

    /// <summary>The attribute's name as written, e.g. <c>PreviousTokenHead</c>.</summary>
    public LocationInfo? Location => LocationInfo.From(_syntax?.Name);

    /// <summary>
    /// Whether the compiler bound the attribute to a constructor and every argument to a name, and parsed it
    /// without error. When not, the values read around the mistake are not what the user meant.
    /// </summary>
    public bool IsBound { get; }

    public TypedConstant? Positional(int index) =>
        IsBound && index < _data.ConstructorArguments.Length ? _data.ConstructorArguments[index] : null;

    /// <summary>The location of the <paramref name="index"/>-th positional argument, or of the attribute.</summary>
    public LocationInfo? PositionalLocation(int index)
    {
        var positional = PositionalSyntax();
        return index < positional.Count ? LocationInfo.From(positional[index].Expression) : Location;
    }

    /// <summary>How many positional arguments were written (a <c>params</c> array may be written one by one).</summary>
    public int PositionalCount => PositionalSyntax().Count;

    public bool Has(string name) => NamedSyntax(name) is not null;

    public TypedConstant? Named(string name)
    {
        foreach (var pair in _data.NamedArguments)
        {
            if (pair.Key == name)
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <summary>The location of the value of named argument <paramref name="name"/>, or of the attribute.</summary>
    public LocationInfo? NamedLocation(string name) =>
        NamedSyntax(name) is { } argument ? LocationInfo.From(argument.Expression) : Location;

    /// <summary>The named argument's value as written in source, for documentation.</summary>
    public string? NamedText(string name) => NamedSyntax(name)?.Expression.ToString();

    private AttributeArgumentSyntax? NamedSyntax(string name)
    {
        if (_syntax?.ArgumentList is null)
        {
            return null;
        }

        foreach (var argument in _syntax.ArgumentList.Arguments)
        {
            if (argument.NameEquals?.Name.Identifier.ValueText == name)
            {
                return argument;
            }
        }

        return null;
    }

    private IEnumerable<string> NamedSyntaxArguments() =>
        _syntax?.ArgumentList?.Arguments.Where(a => a.NameEquals is not null).Select(a => a.NameEquals!.Name.Identifier.ValueText)
            ?? Enumerable.Empty<string>();

    private List<AttributeArgumentSyntax> PositionalSyntax()
    {
        var list = new List<AttributeArgumentSyntax>();
        if (_syntax?.ArgumentList is not null)
        {
            foreach (var argument in _syntax.ArgumentList.Arguments)
            {
                if (argument.NameEquals is null)
                {
                    list.Add(argument);
                }
            }
        }

        return list;
    }
}

/// <summary>Reads bound attribute values; each returns false when the value is missing, null or unbound.</summary>
internal static class TypedConstants
{
    public static bool IsBroken(this TypedConstant? value) => value is { Kind: TypedConstantKind.Error };

    public static bool TryGetInt(this TypedConstant? value, out int result)
    {
        if (value is { Kind: TypedConstantKind.Primitive, Value: int i })
        {
            result = i;
            return true;
        }

        result = 0;
        return false;
    }

    public static bool TryGetDouble(this TypedConstant? value, out double result)
    {
        switch (value)
        {
            case { Kind: TypedConstantKind.Primitive, Value: double d }:
                result = d;
                return true;
            case { Kind: TypedConstantKind.Primitive, Value: float f }:
                result = f;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    public static bool TryGetBool(this TypedConstant? value, out bool result)
    {
        if (value is { Kind: TypedConstantKind.Primitive, Value: bool b })
        {
            result = b;
            return true;
        }

        result = false;
        return false;
    }

    public static bool TryGetEnum(this TypedConstant? value, out int result)
    {
        if (value is { Kind: TypedConstantKind.Enum, Value: int i })
        {
            result = i;
            return true;
        }

        result = 0;
        return false;
    }

    /// <summary>A string value; null when the argument is null (or not a string).</summary>
    public static string? AsString(this TypedConstant? value) =>
        value is { Kind: TypedConstantKind.Primitive, Value: string s } ? s : null;
}
