using System.Globalization;
using CircuitDsl.Tensors;

namespace CircuitDsl.Tests.Tensors;

/// <summary>Large tensors are advised to transparent huge pages, and stay ordinary zero-filled arrays.</summary>
public sealed class HugePagesTests
{
    [Fact]
    public unsafe void A_large_tensor_is_zero_and_its_mapping_is_eligible_for_huge_pages_where_the_kernel_allows()
    {
        var tensor = new Tensor(4096, 4096); // 64 MB
        tensor.Span.IndexOfAnyExcept(0f).Should().Be(-1, "a new tensor is zero-filled");
        tensor.Span.Fill(1.5f);
        tensor[4095, 4095].Should().Be(1.5f);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        long address;
        fixed (float* data = tensor.Span)
        {
            address = (long)data + (32L << 20); // the middle of the array, inside a 2 MB-aligned stretch
        }

        var setting = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
        var eligible = ThpEligible(address);
        eligible.Should().Be(!setting.Contains("[never]", StringComparison.Ordinal), $"transparent_hugepage is '{setting.Trim()}'");
        GC.KeepAlive(tensor);
    }

    /// <summary>The <c>THPeligible</c> flag of the mapping in /proc/self/smaps that contains <paramref name="address"/>.</summary>
    private static bool ThpEligible(long address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out var start)
                && long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out var end))
            {
                inside = start <= address && address < end;
            }
            else if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal))
            {
                return line.EndsWith('1');
            }
        }

        throw new InvalidOperationException($"No mapping in /proc/self/smaps contains 0x{address:x}.");
    }
}
