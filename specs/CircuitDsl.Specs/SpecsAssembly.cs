namespace CircuitDsl.Specs;

/// <summary>Names this assembly: the specs of the paper's models that <c>circuitdsl demo</c> and <c>docs</c> check by default.</summary>
public static class SpecsAssembly;
