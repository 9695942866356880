namespace CircuitDsl.Reports;

/// <summary>
/// A circuit checked on every seed its model was trained on (<see cref="TrainedOnAttribute.Seeds"/>): the report of
/// each seed, and per claim the value on each seed with their minimum, median and maximum. A claim holds when it holds
/// on every seed, or on as many as its <see cref="HypothesisAttribute.OnSeeds"/> asks for.
/// </summary>
public sealed class SeedReport
{
    /// <summary>
    /// The reports <paramref name="reports"/> of the circuit <paramref name="documentation"/>, one per seed of
    /// <paramref name="seeds"/> in the same order, each with one piece of evidence per hypothesis in declaration order.
    /// </summary>
    /// <exception cref="ArgumentException">The seeds and reports differ in number, no seed is given, or a report is of another circuit or lists other hypotheses.</exception>
    public SeedReport(CircuitDocumentation documentation, IReadOnlyList<int> seeds, IReadOnlyList<CircuitReport> reports)
    {
        ArgumentNullException.ThrowIfNull(documentation);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(reports);
        if (seeds.Count == 0 || seeds.Count != reports.Count)
        {
            throw new ArgumentException($"{documentation.Name}: {seeds.Count} seeds but {reports.Count} reports; give one report per seed.", nameof(reports));
        }

        var names = documentation.Hypotheses.Select(h => h.Name).ToList();
        if (reports.Any(r => r.Circuit != documentation.Name || !r.Evidence.Select(e => e.Hypothesis).SequenceEqual(names)))
        {
            throw new ArgumentException($"every report must be of {documentation.Name}, one piece of evidence per hypothesis in declaration order.", nameof(reports));
        }

        Circuit = documentation.Name;
        Model = reports[0].Model;
        WeightProcessing = reports[0].WeightProcessing;
        Seeds = [.. seeds];
        Reports = [.. reports];
        Claims = [.. documentation.Hypotheses.Select((h, i) => new ClaimAcrossSeeds(
            h.Name, h.OnSeeds == 0 ? seeds.Count : Math.Min(h.OnSeeds, seeds.Count), [.. seeds.Select((s, k) => new SeedEvidence(s, reports[k].Evidence[i]))]))];
    }

    /// <summary>The circuit's name.</summary>
    public string Circuit { get; }

    /// <summary>The model's name.</summary>
    public string Model { get; }

    /// <summary>The weight processing the values were measured after (that of the first seed; every seed's is the same).</summary>
    public string WeightProcessing { get; }

    /// <summary>The seeds, in the order checked.</summary>
    public IReadOnlyList<int> Seeds { get; }

    /// <summary>The report of each seed, in the order of <see cref="Seeds"/>.</summary>
    public IReadOnlyList<CircuitReport> Reports { get; }

    /// <summary>Each claim across the seeds, in declaration order.</summary>
    public IReadOnlyList<ClaimAcrossSeeds> Claims { get; }

    /// <summary>Whether every claim holds on as many seeds as it asks for.</summary>
    public bool AllHold => Claims.All(c => c.Verdict == Verdict.Holds);

    /// <summary>The claims that do not hold on enough seeds, by name.</summary>
    public IEnumerable<string> Failing => Claims.Where(c => c.Verdict != Verdict.Holds).Select(c => c.Hypothesis);

    /// <summary>The report as text (<see cref="ReportText.Describe(SeedReport)"/>), values rounded to 3 decimals.</summary>
    public string ToText() => ReportText.Describe(this);

    /// <inheritdoc />
    public override string ToString() => ToText();
}

/// <summary>One seed's evidence for a claim.</summary>
/// <param name="Seed">The training seed of the weights measured.</param>
/// <param name="Evidence">What checking the claim on those weights found.</param>
public sealed record SeedEvidence(int Seed, Evidence Evidence);

/// <summary>One claim checked on every seed: the value on each, their spread, and the verdict across seeds.</summary>
public sealed class ClaimAcrossSeeds
{
    /// <summary>The claim <paramref name="hypothesis"/>, which must hold on <paramref name="required"/> of the seeds of <paramref name="perSeed"/>.</summary>
    public ClaimAcrossSeeds(string hypothesis, int required, IReadOnlyList<SeedEvidence> perSeed)
    {
        ArgumentNullException.ThrowIfNull(perSeed);
        Hypothesis = hypothesis;
        Required = required;
        PerSeed = perSeed;
        var values = perSeed.Where(p => p.Evidence.Verdict != Verdict.NotMeasured).Select(p => p.Evidence.Measured).Order().ToList();
        Min = values.Count > 0 ? values[0] : double.NaN;
        Max = values.Count > 0 ? values[^1] : double.NaN;
        Median = values.Count == 0 ? double.NaN
            : values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
        Holding = perSeed.Count(p => p.Evidence.Verdict == Verdict.Holds);
        var atLeast = perSeed.Count > 0 && perSeed[0].Evidence.Comparison == Bound.AtLeast;
        var threshold = perSeed.Count > 0 ? perSeed[0].Evidence.Threshold : double.NaN;
        var best = atLeast ? values.OrderDescending().ToList() : values;
        Margin = required >= 1 && required <= best.Count
            ? (atLeast ? best[required - 1] - threshold : threshold - best[required - 1])
            : double.NaN;
        var measured = perSeed.Count(p => p.Evidence.Verdict != Verdict.NotMeasured);
        Verdict = Holding >= required ? Verdict.Holds
            : Holding + (perSeed.Count - measured) >= required ? Verdict.NotMeasured
            : Verdict.Fails;
    }

    /// <summary>The hypothesis's name.</summary>
    public string Hypothesis { get; }

    /// <summary>On how many seeds the claim must hold.</summary>
    public int Required { get; }

    /// <summary>Each seed's evidence.</summary>
    public IReadOnlyList<SeedEvidence> PerSeed { get; }

    /// <summary>On how many seeds the claim holds.</summary>
    public int Holding { get; }

    /// <summary>The smallest value measured over the seeds (NaN when none was measured).</summary>
    public double Min { get; }

    /// <summary>The median of the values measured over the seeds (NaN when none was measured).</summary>
    public double Median { get; }

    /// <summary>The largest value measured over the seeds (NaN when none was measured).</summary>
    public double Max { get; }

    /// <summary>
    /// How far the weakest of the <see cref="Required"/> best seeds is from the bound, on the claimed side: the value
    /// less the bound for a lower bound, the bound less the value for an upper one. Negative when the claim does not
    /// hold on enough seeds; NaN when fewer seeds than that were measured.
    /// </summary>
    public double Margin { get; }

    /// <summary>
    /// Holds when the claim holds on at least <see cref="Required"/> seeds; not measured when it could still, were the
    /// seeds not measured to hold; fails otherwise.
    /// </summary>
    public Verdict Verdict { get; }
}
