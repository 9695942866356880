namespace CircuitDsl.Tensors;

/// <summary>Standard normal samples for weight initialisation and drawn task structure, reproducible from a seed.</summary>
internal static class Gaussian
{
    /// <summary>A standard normal sample (Box–Muller), drawn from <paramref name="rng"/> so that it is reproducible.</summary>
    public static double Next(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
