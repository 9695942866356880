namespace CircuitDsl.Model;

/// <summary>A token the model predicts at a position, and its logit there (<see cref="Losses.TopPredictions(HookedTransformer, int[][], int, HookSet?)"/>).</summary>
/// <param name="Token">The vocabulary entry.</param>
/// <param name="Logit">Its logit at that position.</param>
public readonly record struct Prediction(int Token, float Logit);
