// Shared source: compiled into CircuitDsl.Abstractions (public) and linked into the generator (internal), so the
// training tasks a [TrainedOn] may name are the runtime's own (TrainingTask.Names is built from these).
namespace CircuitDsl;

/// <summary>The names of the training tasks the runtime can generate data for (<c>circuitdsl train --task</c>).</summary>
#if CIRCUITDSL_GENERATOR
internal
#else
public
#endif
static class TaskNames
{
    /// <summary>A random Markov chain: the best model is the bigram table.</summary>
    public const string Bigram = "bigram";

    /// <summary>Planted skip-trigrams "A … B → C": the task of a one-layer attention-only model.</summary>
    public const string SkipTrigram = "skip-trigram";

    /// <summary>Random tokens with repeated stretches: the task on which a two-layer model forms induction heads.</summary>
    public const string RepeatedTokens = "repeated-tokens";

    /// <summary>Markov-chain text with a repeated segment: the mixed task of a bigram table and an induction circuit.</summary>
    public const string MarkovRepeats = "markov-repeats";

    /// <summary>Random strings followed by their reversal: the founding example's target task (docs/mix-and-match.md).</summary>
    public const string Reversal = "reversal";

    /// <summary>Every task name, in the order the command line lists them.</summary>
    public static string[] All => new[] { Bigram, SkipTrigram, RepeatedTokens, MarkovRepeats, Reversal };

    /// <summary>
    /// The tasks on which <c>[Ablation]</c> and <c>[Faithfulness]</c> can measure a loss: the runtime has a batch of
    /// their sequences for every model. The generator checks a hypothesis's <c>Task</c> against these.
    /// </summary>
    public static string[] LossTasks => new[] { RepeatedTokens };
}
