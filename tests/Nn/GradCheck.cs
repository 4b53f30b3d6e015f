namespace SpikeEngine.Tests.Nn;

/// <summary>Finite-difference checks of autograd gradients on host tensors.</summary>
internal static class GradCheck
{
    /// <summary>
    /// Compares d(loss)/d(t) from one backward pass with central differences for up to
    /// <paramref name="samples"/> entries of every tensor (all entries when fewer).
    /// </summary>
    public static void Check(Func<Tensor> loss, IEnumerable<(string Name, Tensor Tensor)> tensors,
        int samples = 12, float eps = 1e-3f, double absTol = 2e-3, double relTol = 3e-2, int seed = 1)
    {
        var list = tensors.ToList();
        foreach (var (_, t) in list) { t.Grad?.Dispose(); t.Grad = null; t.RequiresGrad = true; }
        var root = loss();
        Grad.Backward(root);
        var analytic = list.Select(p => p.Tensor.Grad?.Span.ToArray() ?? new float[p.Tensor.Numel]).ToList();
        Grad.ReleaseGraph(root);
        var rng = new Random(seed);
        using var noGrad = Grad.NoGrad();
        for (int k = 0; k < list.Count; k++)
        {
            var (name, t) = list[k];
            var span = t.Span;
            var indices = t.Numel <= samples ? Enumerable.Range(0, t.Numel) : Enumerable.Range(0, samples).Select(_ => rng.Next(t.Numel)).Distinct();
            foreach (int i in indices)
            {
                float saved = span[i];
                span[i] = saved + eps;
                double plus = Eval(loss);
                span[i] = saved - eps;
                double minus = Eval(loss);
                span[i] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double got = analytic[k][i];
                Assert.That(got, Is.EqualTo(numeric).Within(absTol + relTol * Math.Abs(numeric)),
                    $"d loss / d {name}[{i}]: autograd {got}, finite differences {numeric}");
            }
        }
        foreach (var (_, t) in list) { t.Grad?.Dispose(); t.Grad = null; }
    }

    private static double Eval(Func<Tensor> loss)
    {
        using var l = loss();
        return l.Item();
    }

    public static Tensor Random(Shape shape, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var data = new float[shape.Numel];
        for (int i = 0; i < data.Length; i++) data[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return Tensor.FromArray(data, shape);
    }

    /// <summary>A smooth scalar loss of any tensor: Σ y·r for a fixed random r (via a linear layer over the flattened output).</summary>
    public static Tensor WeightedSum(Tensor y, Tensor weights)
    {
        var flat = F.Reshape(y, new Shape(1, y.Numel));
        var s = F.Linear(flat, weights, null);
        return F.Reshape(s, new Shape(1));
    }
}
