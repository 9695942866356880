using CircuitDsl.Model;
using MathNet.Numerics;

namespace CircuitDsl.Tests.Training;

/// <summary>
/// A naive double-precision transformer forward pass and mean next-token loss, written with scalar loops
/// straight from docs/math.md and independent of the runtime's kernels: the reference the analytic gradients are
/// finite-differenced against.
/// </summary>
internal sealed class ReferenceTransformer
{
    private readonly ModelConfig _c;
    private readonly Dictionary<string, double[]> _p;

    public ReferenceTransformer(TransformerWeights weights)
    {
        _c = weights.Config;
        _p = weights.ToStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Span.ToArray().Select(f => (double)f).ToArray());
    }

    /// <summary>The parameters by TransformerLens name, flattened row-major; edit them to perturb the model.</summary>
    public IReadOnlyDictionary<string, double[]> Parameters => _p;

    public double MeanLoss(int[][] tokens)
    {
        double total = 0;
        var count = 0;
        foreach (var seq in tokens)
        {
            var logits = Logits(seq);
            for (var p = 0; p + 1 < seq.Length; p++)
            {
                var max = logits[p].Max();
                var lse = max + Math.Log(logits[p].Sum(v => Math.Exp(v - max)));
                total += lse - logits[p][seq[p + 1]];
                count++;
            }
        }

        return total / count;
    }

    public double[][] Logits(int[] seq)
    {
        int t = seq.Length, d = _c.DModel, h = _c.NHeads, dh = _c.DHead, v = _c.DVocab;
        var wE = _p["embed.W_E"];
        var wPos = _p["pos_embed.W_pos"];
        var x = new double[t][];
        for (var p = 0; p < t; p++)
        {
            x[p] = new double[d];
            for (var i = 0; i < d; i++)
            {
                x[p][i] = wE[(seq[p] * d) + i] + (_c.IsShortformer ? 0 : wPos[(p * d) + i]);
            }
        }

        for (var l = 0; l < _c.NLayers; l++)
        {
            var pre = $"blocks.{l}.";
            var a = new double[t][];
            var qkIn = new double[t][];
            for (var p = 0; p < t; p++)
            {
                a[p] = Norm(x[p], pre + "ln1");
                qkIn[p] = new double[d];
                for (var i = 0; i < d; i++)
                {
                    qkIn[p][i] = a[p][i] + (_c.IsShortformer ? wPos[(p * d) + i] : 0);
                }
            }

            double[] wq = _p[pre + "attn.W_Q"], wk = _p[pre + "attn.W_K"], wv = _p[pre + "attn.W_V"], wo = _p[pre + "attn.W_O"];
            double[] bq = _p[pre + "attn.b_Q"], bk = _p[pre + "attn.b_K"], bv = _p[pre + "attn.b_V"], bo = _p[pre + "attn.b_O"];
            var attnOut = new double[t][];
            for (var p = 0; p < t; p++)
            {
                attnOut[p] = (double[])bo.Clone();
            }

            for (var head = 0; head < h; head++)
            {
                double[][] q = new double[t][], k = new double[t][], val = new double[t][];
                for (var p = 0; p < t; p++)
                {
                    q[p] = new double[dh];
                    k[p] = new double[dh];
                    val[p] = new double[dh];
                    for (var e = 0; e < dh; e++)
                    {
                        double sq = bq[(head * dh) + e], sk = bk[(head * dh) + e], sv = bv[(head * dh) + e];
                        for (var i = 0; i < d; i++)
                        {
                            var w = (((head * d) + i) * dh) + e;
                            sq += qkIn[p][i] * wq[w];
                            sk += qkIn[p][i] * wk[w];
                            sv += a[p][i] * wv[w];
                        }

                        q[p][e] = sq;
                        k[p][e] = sk;
                        val[p][e] = sv;
                    }
                }

                for (var p = 0; p < t; p++)
                {
                    var scores = new double[p + 1];
                    for (var j = 0; j <= p; j++)
                    {
                        for (var e = 0; e < dh; e++)
                        {
                            scores[j] += q[p][e] * k[j][e];
                        }

                        scores[j] /= Math.Sqrt(dh);
                    }

                    var max = scores.Max();
                    var exps = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var sum = exps.Sum();
                    var z = new double[dh];
                    for (var j = 0; j <= p; j++)
                    {
                        for (var e = 0; e < dh; e++)
                        {
                            z[e] += exps[j] / sum * val[j][e];
                        }
                    }

                    for (var i = 0; i < d; i++)
                    {
                        for (var e = 0; e < dh; e++)
                        {
                            attnOut[p][i] += z[e] * wo[(((head * dh) + e) * d) + i];
                        }
                    }
                }
            }

            for (var p = 0; p < t; p++)
            {
                for (var i = 0; i < d; i++)
                {
                    x[p][i] += attnOut[p][i];
                }
            }

            if (_c.HasMlp)
            {
                var m = _c.DMlp!.Value;
                double[] wIn = _p[pre + "mlp.W_in"], bIn = _p[pre + "mlp.b_in"], wOut = _p[pre + "mlp.W_out"], bOut = _p[pre + "mlp.b_out"];
                for (var p = 0; p < t; p++)
                {
                    var mlpIn = Norm(x[p], pre + "ln2");
                    var hidden = new double[m];
                    for (var j = 0; j < m; j++)
                    {
                        var s = bIn[j];
                        for (var i = 0; i < d; i++)
                        {
                            s += mlpIn[i] * wIn[(i * m) + j];
                        }

                        hidden[j] = Act(s);
                    }

                    for (var i = 0; i < d; i++)
                    {
                        var s = bOut[i];
                        for (var j = 0; j < m; j++)
                        {
                            s += hidden[j] * wOut[(j * d) + i];
                        }

                        x[p][i] += s;
                    }
                }
            }
        }

        var wU = _p["unembed.W_U"];
        var bU = _p["unembed.b_U"];
        var logits = new double[t][];
        for (var p = 0; p < t; p++)
        {
            var f = Norm(x[p], "ln_final");
            logits[p] = new double[v];
            for (var o = 0; o < v; o++)
            {
                var s = bU[o];
                for (var i = 0; i < d; i++)
                {
                    s += f[i] * wU[(i * v) + o];
                }

                logits[p][o] = s;
            }
        }

        return logits;
    }

    private double[] Norm(double[] x, string module)
    {
        if (!_c.HasLayerNorm)
        {
            return (double[])x.Clone();
        }

        var mean = x.Average();
        var variance = x.Select(v => (v - mean) * (v - mean)).Average();
        var y = x.Select(v => (v - mean) / Math.Sqrt(variance + 1e-5)).ToArray();
        if (_c.HasLayerNormWeights)
        {
            double[] w = _p[module + ".w"], b = _p[module + ".b"];
            for (var i = 0; i < y.Length; i++)
            {
                y[i] = (y[i] * w[i]) + b[i];
            }
        }

        return y;
    }

    private double Act(double x) => _c.ActFn switch
    {
        ActivationFunction.Relu => Math.Max(x, 0),
        ActivationFunction.Gelu => 0.5 * x * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2))),
        ActivationFunction.GeluNew => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x)))),
        _ => throw new ArgumentException($"No activation {_c.ActFn}."),
    };
}
