using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace CircuitDsl.Weights;

/// <summary>The element types a weights file may store; only the float ones can become tensors.</summary>
internal enum ElementType
{
    /// <summary>IEEE binary32.</summary>
    F32,

    /// <summary>IEEE binary16 (half).</summary>
    F16,

    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,

    /// <summary>Any other type (bool masks, integers, doubles): its size is known, its values are never read.</summary>
    Other,
}

/// <summary>Widening of stored elements to <see cref="float"/>.</summary>
internal static class ElementTypes
{
    /// <summary>Whether tensors of this type can be loaded.</summary>
    public static bool IsLoadable(ElementType type) => type != ElementType.Other;

    /// <summary>
    /// Converts little-endian <paramref name="source"/> elements of <paramref name="type"/> to floats in
    /// <paramref name="destination"/>, whose length is the element count.
    /// </summary>
    public static void Widen(ElementType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (type)
        {
            case ElementType.F32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, float>(source[..(destination.Length * 4)]).CopyTo(destination);
                break;
            case ElementType.F32:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]);
                }

                break;
            case ElementType.F16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]));
                }

                break;
            case ElementType.BF16:
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]) << 16);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Only float element types can be widened.");
        }
    }
}
