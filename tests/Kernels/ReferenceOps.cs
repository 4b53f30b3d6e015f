namespace SpikeEngine.Tests.Kernels;

/// <summary>
/// Obviously-right nested loops in double precision, written straight from the definitions.
/// They are the independent references of the CPU kernels (and the forward functions of the
/// finite-difference gradient checks).
/// </summary>
internal static class ReferenceOps
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C (beta = 0 ignores C).</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        double[] a, int aOffset, int lda, double[] b, int bOffset, int ldb, double beta, double[] c, int cOffset, int ldc)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                double av = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
                double bv = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j];
                s += av * bv;
            }
            ref double cv = ref c[cOffset + i * ldc + j];
            cv = alpha * s + (beta == 0 ? 0 : beta * cv);
        }
    }

    public static double[] Linear(double[] x, double[] w, double[]? bias, int n, int inF, int outF)
    {
        var y = new double[n * outF];
        for (int r = 0; r < n; r++)
        for (int o = 0; o < outF; o++)
        {
            double s = bias?[o] ?? 0;
            for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
            y[r * outF + o] = s;
        }
        return y;
    }

    public static double[] Conv2d(double[] x, double[] w, double[]? bias, Conv2dGeometry g)
    {
        int oh = g.OutH, ow = g.OutW;
        var y = new double[g.N * g.K * oh * ow];
        for (int n = 0; n < g.N; n++)
        for (int k = 0; k < g.K; k++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double s = bias?[k] ?? 0;
            for (int c = 0; c < g.C; c++)
            for (int r = 0; r < g.R; r++)
            for (int q = 0; q < g.S; q++)
            {
                int h = i * g.StrideH - g.PadH + r, v = j * g.StrideW - g.PadW + q;
                if (h < 0 || h >= g.H || v < 0 || v >= g.W) continue;
                s += x[((n * g.C + c) * g.H + h) * g.W + v] * w[((k * g.C + c) * g.R + r) * g.S + q];
            }
            y[((n * g.K + k) * oh + i) * ow + j] = s;
        }
        return y;
    }

    /// <summary>Per-channel biased mean and variance of [N, C, hw].</summary>
    public static (double[] Mean, double[] Var) ChannelStats(double[] x, int n, int c, int hw)
    {
        var mean = new double[c];
        var var = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) s += x[(i * c + ch) * hw + j];
            mean[ch] = s / (n * hw);
            double q = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) { double d = x[(i * c + ch) * hw + j] - mean[ch]; q += d * d; }
            var[ch] = q / (n * hw);
        }
        return (mean, var);
    }

    /// <summary>y = (x − mean)/sqrt(var + eps)·gamma + beta per channel.</summary>
    public static double[] Normalize(double[] x, double[] mean, double[] var, double[] gamma, double[] beta, int n, int c, int hw, double eps)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < hw; j++)
        {
            int o = (i * c + ch) * hw + j;
            y[o] = (x[o] - mean[ch]) / Math.Sqrt(var[ch] + eps) * gamma[ch] + beta[ch];
        }
        return y;
    }

    public static double[] BatchNormTraining(double[] x, double[] gamma, double[] beta, int n, int c, int hw, double eps)
    {
        var (mean, var) = ChannelStats(x, n, c, hw);
        return Normalize(x, mean, var, gamma, beta, n, c, hw, eps);
    }

    /// <summary>Average pooling with zero padding counted in the divisor (count_include_pad).</summary>
    public static double[] AvgPool2d(double[] x, Pool2dGeometry g)
    {
        int oh = g.OutH, ow = g.OutW;
        var y = new double[g.N * g.C * oh * ow];
        for (int p = 0; p < g.N * g.C; p++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double s = 0;
            for (int r = 0; r < g.KernelH; r++)
            for (int q = 0; q < g.KernelW; q++)
            {
                int h = i * g.StrideH - g.PadH + r, v = j * g.StrideW - g.PadW + q;
                if (h >= 0 && h < g.H && v >= 0 && v < g.W) s += x[(p * g.H + h) * g.W + v];
            }
            y[(p * oh + i) * ow + j] = s / (g.KernelH * g.KernelW);
        }
        return y;
    }

    public static double[] GlobalAvgPool(double[] x, int planes, int hw)
    {
        var y = new double[planes];
        for (int p = 0; p < planes; p++)
        {
            double s = 0;
            for (int j = 0; j < hw; j++) s += x[p * hw + j];
            y[p] = s / hw;
        }
        return y;
    }

    /// <summary>q·L = floor(x·L/λ + 1/2), in float32 exactly as engine/METHOD.md §1 prescribes.</summary>
    public static float QcfsSteps(float x, float lambda, int levels) => MathF.Floor(x * levels / lambda + 0.5f);

    public static double Qcfs(float x, float lambda, int levels)
    {
        double q = QcfsSteps(x, lambda, levels) / (double)levels;
        return lambda * Math.Clamp(q, 0.0, 1.0);
    }

    /// <summary>
    /// Per-row cross-entropy −Σ_j target_j log softmax_j with the smoothed target (1 − ε)·onehot + ε/classes, averaged:
    /// the definition, term by term.
    /// </summary>
    public static double SmoothedCrossEntropy(double[] logits, int[] labels, int n, int classes, double smoothing)
    {
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            var row = logits.AsSpan(r * classes, classes).ToArray();
            double max = row.Max(), logSum = Math.Log(row.Sum(v => Math.Exp(v - max))) + max;
            for (int j = 0; j < classes; j++)
            {
                double target = (j == labels[r] ? 1 - smoothing : 0) + smoothing / classes;
                total -= target * (row[j] - logSum);
            }
        }
        return total / n;
    }

    /// <summary>Per-row softmax cross-entropy, averaged.</summary>
    public static double SoftmaxCrossEntropy(double[] logits, int[] labels, int n, int classes)
    {
        double total = 0;
        for (int r = 0; r < n; r++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < classes; j++) max = Math.Max(max, logits[r * classes + j]);
            double s = 0;
            for (int j = 0; j < classes; j++) s += Math.Exp(logits[r * classes + j] - max);
            total += Math.Log(s) + max - logits[r * classes + labels[r]];
        }
        return total / n;
    }

    /// <summary>Whether the label is among the k first after a stable sort by descending value.</summary>
    public static bool InTopK(float[] row, int label, int k)
    {
        var order = Enumerable.Range(0, row.Length).OrderByDescending(j => row[j]).ThenBy(j => j).Take(k);
        return order.Contains(label);
    }
}
