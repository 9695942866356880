namespace CircuitDsl.Generators.Model;

/// <summary>What a valid <c>[TrainedOn]</c> tells the hypotheses that compare a model with its task.</summary>
/// <param name="Task">The training task, one of <c>TaskNames.All</c>.</param>
/// <param name="Seed">The first seed, which also drew the task's planted structure when the weights name no seed of their own.</param>
/// <param name="SeedCount">How many seeds the model was trained on (1 for a card with one <c>Seed</c>).</param>
internal sealed record ModelCard(string Task, int Seed, int SeedCount);
