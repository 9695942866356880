using System.Globalization;
using System.Text.RegularExpressions;

namespace CircuitDsl.Specs.Tests;

/// <summary>
/// Report text for snapshots: every value the report prints with three decimals is rounded to two, so a snapshot does
/// not flip in the last digit between GEMM backends (OpenBLAS or the managed kernel) or machines. The assertions per
/// hypothesis check the unrounded values.
/// </summary>
internal static partial class StableText
{
    public static string Of(string reportText) =>
        ThreeDecimals().Replace(reportText, m =>
        {
            var value = Math.Round(double.Parse(m.Value, CultureInfo.InvariantCulture), 2, MidpointRounding.AwayFromZero);
            return (value == 0 ? 0 : value).ToString("0.00", CultureInfo.InvariantCulture);
        });

    [GeneratedRegex(@"-?\d+\.\d{3}(?!\d)")]
    private static partial Regex ThreeDecimals();
}
