using System.Reflection;
using CircuitDsl.Facade;
using CircuitDsl.Model;
using CircuitDsl.Reports;
using CircuitDsl.Tasks;

namespace CircuitDsl.Specs;

/// <summary>
/// Mix and match: a bigram table and an induction circuit, carved out of two models trained on different tasks and
/// joined without a gradient step (docs/mix-and-match.md), do a job neither parent was trained on — Markov text in
/// which a segment repeats — better than either parent does it.
/// </summary>
[Circuit(typeof(BigramPlusInduction))]
public static partial class BigramPlusInductionClaims
{
    /// <summary>
    /// On held-out Markov text with a repeated segment (<c>HeldOut</c> below: sequences drawn here with a seed of this
    /// claim's, from the chain the bigram parent was trained on), the composite's mean next-token loss is below the
    /// bigram parent's by at least 0.03 nats: the induction block helps on the repeats.
    /// </summary>
    [Measured(AtLeast = 0.03, Unit = "nats")]
    public static double BeatsTheBigramParent(BigramPlusInduction model) => ParentLoss<Bigram0L>() - Loss(model);

    /// <summary>
    /// On the same text the composite's loss is below the induction parent's by at least a nat: the bigram block
    /// knows the chain, which the induction parent, trained on uniform random tokens, does not.
    /// </summary>
    [Measured(AtLeast = 1.0, Unit = "nats")]
    public static double BeatsTheInductionParent(BigramPlusInduction model) => ParentLoss<Induction2LNoLN>() - Loss(model);

    /// <summary>The held-out batch: the bigram chain of seed 0 with one repeated segment per sequence.</summary>
    private static int[][] HeldOut()
    {
        var task = new MarkovRepeatsTask(BigramPlusInduction.DVocab, chainSeed: 0);
        var random = new Random(2026);
        return Enumerable.Range(0, 64).Select(_ => task.Sample(random, BigramPlusInduction.NCtx)).ToArray();
    }

    private static double Loss(TransformerModel model) => Losses.NextTokenCrossEntropy(model.Forward(HeldOut()), HeldOut());

    /// <summary>A parent's loss on the batch, on the bundled weights of the first seed its model card names (the one composed).</summary>
    private static double ParentLoss<TParent>()
        where TParent : TransformerModel, ITransformerModel<TParent>
    {
        var card = typeof(TParent).GetCustomAttribute<TrainedOnAttribute>()!;
        using var parent = TParent.Load(card.WeightsDirectory(typeof(TParent), card.AllSeeds[0]));
        return Loss(parent);
    }
}
