using System.Reflection;
using System.Reflection.Emit;

namespace CircuitDsl.Tests.Architecture;

/// <summary>
/// The types a compiled type refers to: its base type, interfaces, attributes, fields, properties, method
/// signatures and local variables, and every type, method and field its IL names. Read from the assembly as built,
/// so what the compiler resolved is what counts (a <c>using</c> that nothing needs is not a dependency).
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    // Every IL opcode by its two-byte value, for stepping over operands.
    private static readonly Dictionary<ushort, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(op => unchecked((ushort)op.Value));

    /// <summary>Every type <paramref name="type"/> refers to, with generic arguments and element types unwrapped.</summary>
    public static IEnumerable<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || t.IsGenericParameter || !found.Add(t))
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
            }

            if (t.IsConstructedGenericType)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var argument in t.GenericTypeArguments)
                {
                    Add(argument);
                }
            }
        }

        void Attributes(MemberInfo member)
        {
            foreach (var attribute in member.CustomAttributes)
            {
                Add(attribute.AttributeType);
            }
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(i);
        }

        Attributes(type);
        foreach (var field in type.GetFields(Declared))
        {
            Add(field.FieldType);
            Attributes(field);
        }

        foreach (var property in type.GetProperties(Declared))
        {
            Add(property.PropertyType);
            Attributes(property);
        }

        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            Attributes(method);
            if (method is MethodInfo m)
            {
                Add(m.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType);
            }

            foreach (var referenced in Body(method))
            {
                Add(referenced);
            }
        }

        return found;
    }

    /// <summary>The types a method body declares as locals or names in its IL (the declaring types of its calls and fields).</summary>
    private static IEnumerable<Type> Body(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null)
        {
            yield break;
        }

        foreach (var local in body.LocalVariables)
        {
            yield return local.LocalType;
        }

        var il = body.GetILAsByteArray() ?? [];
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            ushort value = il[i] == 0xFE ? (ushort)(0xFE00 | il[i + 1]) : il[i];
            i += value > 0xFF ? 2 : 1;
            var op = OpCodesByValue[value];
            if (op.OperandType is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType)
            {
                var member = method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                switch (member)
                {
                    case Type t:
                        yield return t;
                        break;
                    case MethodInfo { IsGenericMethod: true } generic:
                        yield return generic.DeclaringType!;
                        foreach (var argument in generic.GetGenericArguments())
                        {
                            yield return argument;
                        }

                        break;
                    case not null when member.DeclaringType is { } declaring:
                        yield return declaring;
                        break;
                }
            }

            i += OperandSize(op.OperandType, il, i);
        }
    }

    private static int OperandSize(OperandType operand, byte[] il, int at) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
        _ => 4,
    };
}
