namespace CircuitDsl.Generators.Model;

/// <summary>What a valid <c>[TrainedOn]</c> tells the hypotheses that compare a model with its task.</summary>
/// <param name="Task">The training task, one of <c>TaskNames.All</c>.</param>
/// <param name="Seed">The seed, which also drew the task's planted structure.</param>
internal sealed record ModelCard(string Task, int Seed);
