using System.Numerics;

namespace CircuitDsl.Reports;

/// <summary>
/// The data behind a piece of <see cref="Evidence"/>, one sealed record per kind: what the value was measured from,
/// for reports, failure messages and documentation pages to show. <see cref="ReportText.Describe(EvidenceData)"/> says
/// each in one line.
/// </summary>
public abstract record EvidenceData;

/// <summary>A head's attention pattern on one sequence of the detection batch.</summary>
/// <param name="Head">The head.</param>
/// <param name="Sequence">The sequence's index in the detection batch.</param>
/// <param name="Pattern">The head's <c>hook_pattern</c> on the sequence, <c>[query_pos, key_pos]</c>.</param>
/// <param name="Tokens">The sequence's tokens, one per position.</param>
public sealed record AttentionPatternData(HeadId Head, int Sequence, Tensor Pattern, IReadOnlyList<int> Tokens) : EvidenceData;

/// <summary>The eigenvalues of a head's full OV circuit <c>W_E · W_OV · W_U</c> (the non-zero ones, <c>d_head</c> at most).</summary>
/// <param name="Head">The head.</param>
/// <param name="Eigenvalues">The eigenvalues.</param>
public sealed record EigenvaluesData(HeadId Head, IReadOnlyList<Complex> Eigenvalues) : EvidenceData;

/// <summary>The three composition scores of an earlier head into a later one, and the random baseline they compare with.</summary>
/// <param name="From">The earlier (writing) head.</param>
/// <param name="To">The later (reading) head.</param>
/// <param name="Q">The raw Q-composition score.</param>
/// <param name="K">The raw K-composition score.</param>
/// <param name="V">The raw V-composition score.</param>
/// <param name="RandomBaseline">The score of random matrices, <c>1/sqrt(d_model)</c>.</param>
public sealed record CompositionData(HeadId From, HeadId To, double Q, double K, double V, double RandomBaseline) : EvidenceData;

/// <summary>How much the loss on each predicted token rises when a head is mean-ablated.</summary>
/// <param name="Head">The mean-ablated head.</param>
/// <param name="PerToken">Ablated minus clean loss in nats, <c>[batch, pos - 1]</c> (every position but the last predicts one).</param>
public sealed record LossChangeData(HeadId Head, Tensor PerToken) : EvidenceData
{
    /// <summary>The increase at each predicted position averaged over the sequences; entry <c>p</c> predicts token <c>p + 1</c>.</summary>
    public IReadOnlyList<double> MeanOverSequences()
    {
        int batch = PerToken.Dim(0), positions = PerToken.Dim(1);
        return [.. Enumerable.Range(0, positions).Select(p => Enumerable.Range(0, batch).Average(b => (double)PerToken[b, p]))];
    }
}

/// <summary>The three mean losses a faithfulness check compares (nats per predicted token).</summary>
/// <param name="Circuit">The heads kept; every other head is mean-ablated.</param>
/// <param name="FullLoss">The loss of the whole model.</param>
/// <param name="CircuitLoss">The loss with only <paramref name="Circuit"/> kept.</param>
/// <param name="AblatedLoss">The loss with every head mean-ablated.</param>
public sealed record FaithfulnessData(IReadOnlyList<HeadId> Circuit, double FullLoss, double CircuitLoss, double AblatedLoss) : EvidenceData;

/// <summary>The direct path read as a bigram model, beside the bigram chain that made the training data.</summary>
/// <param name="ModelLogProbs"><c>log_softmax(W_E W_U + b_U)</c>, <c>[current, next]</c>.</param>
/// <param name="ChainLogProbs">The chain's <c>log P(next | current)</c>, <c>[current, next]</c>.</param>
public sealed record BigramFitData(Tensor ModelLogProbs, Tensor ChainLogProbs) : EvidenceData;

/// <summary>The planted skip-trigrams and where a head's circuits rank them.</summary>
/// <param name="Head">The head.</param>
/// <param name="Triples">Every planted triple with its ranks in the head's QK and OV circuits.</param>
public sealed record SkipTrigramData(HeadId Head, IReadOnlyList<PlantedSkipTrigram> Triples) : EvidenceData;

/// <summary>One planted skip-trigram "anchor … trigger → output" as a head sees it.</summary>
/// <param name="Anchor">The source token A.</param>
/// <param name="Trigger">The destination token B.</param>
/// <param name="Output">The planted next token C.</param>
/// <param name="KeyRank">The rank (0 = highest) of A among all keys in B's row of the full QK circuit.</param>
/// <param name="OutRank">The rank (0 = highest) of C among all outputs in A's row of the full OV circuit.</param>
/// <param name="Carried">Whether both ranks are within the task's allowance (<c>PlantedStructure.SkipTrigrams</c> says which).</param>
public sealed record PlantedSkipTrigram(int Anchor, int Trigger, int Output, int KeyRank, int OutRank, bool Carried);

/// <summary>One path term on the detection batch: its share, its contribution to the next token's logit, and what removing it costs.</summary>
/// <param name="Term">The term's name (<c>direct</c>, <c>L0H1</c>, <c>L1H3_L0H1</c>, <c>b0</c>, <c>mlp0</c>, <c>b_U</c>).</param>
/// <param name="Share">Its squared Frobenius norm over the sum of every term's (0…1).</param>
/// <param name="NextTokenLogit">Its contribution to the logit of the token that comes next, <c>[batch, pos - 1]</c>.</param>
/// <param name="RemovalLossChange">The loss change, in nats, when it is removed from the logits.</param>
public sealed record PathTermData(string Term, double Share, Tensor NextTokenLogit, double RemovalLossChange) : EvidenceData
{
    /// <summary>The mean of <see cref="NextTokenLogit"/> over every predicted position of every sequence.</summary>
    public double MeanNextTokenLogit()
    {
        double sum = 0;
        foreach (var value in NextTokenLogit.Span)
        {
            sum += value;
        }

        return NextTokenLogit.Length == 0 ? double.NaN : sum / NextTokenLogit.Length;
    }
}

/// <summary>Term importance on the detection batch: the loss of the logits built from the path terms of each order and below.</summary>
/// <param name="ConstantLoss">The loss of the unembedding's constant alone (no token read), nats.</param>
/// <param name="LossByOrder">Entry <c>k</c> (<c>0 … n_layers</c>): the loss of the terms of order at most <c>k</c>, nats; the last is the model's.</param>
public sealed record TermImportanceData(double ConstantLoss, IReadOnlyList<double> LossByOrder) : EvidenceData;
