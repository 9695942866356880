namespace CircuitDsl.Generators.Model;

/// <summary>A circuit as the registry lists it: the class and the model it is about, both fully qualified.</summary>
internal sealed record RegisteredCircuit(string FullName, string ModelFullName);

/// <summary>
/// Every spec of the compilation by name, all the registry needs: an edit inside a spec (a threshold, a claim) leaves
/// it equal, so the registry is not regenerated.
/// </summary>
internal sealed record RegistrySpec(EquatableArray<string> Models, EquatableArray<RegisteredCircuit> Circuits)
{
    public bool IsEmpty => Models.Count == 0 && Circuits.Count == 0;
}
