using SpikeEngine.Tensors;

namespace SpikeEngine.Autograd;

/// <summary>
/// The tape: operations record a <see cref="GradNode"/> on their output while gradients are enabled
/// and an input requires them; <see cref="Backward"/> walks the graph in reverse topological order.
/// </summary>
public static class Grad
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>Whether operations on this thread record the graph.</summary>
    public static bool Enabled => _noGradDepth == 0;

    /// <summary>Disables recording on this thread until the returned scope is disposed (evaluation, SNN simulation).</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _noGradDepth--;
        }
    }

    /// <summary>Whether an op with these inputs must be recorded.</summary>
    public static bool ShouldRecord(params Tensor?[] inputs)
    {
        if (!Enabled) return false;
        foreach (var t in inputs) if (t is not null && t.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Attaches a node to <paramref name="output"/> when recording; otherwise disposes the saved temporaries at once.
    /// Returns the output for chaining.
    /// </summary>
    public static Tensor Record(Tensor output, string op, Tensor?[] inputs, Action<Tensor> backward, params Tensor[] saved)
    {
        if (!ShouldRecord(inputs))
        {
            foreach (var s in saved) s.Dispose();
            return output;
        }
        var actual = inputs.Where(t => t is not null).Cast<Tensor>().ToArray();
        output.RequiresGrad = true;
        output.GradFn = new GradNode(op, actual, backward, saved);
        return output;
    }

    /// <summary>Adds <paramref name="gradient"/> to t.Grad (allocating it on first use) when t requires gradients.</summary>
    public static void Accumulate(Tensor t, Tensor gradient)
    {
        if (!t.RequiresGrad) return;
        if (gradient.Shape != t.Shape)
            throw new InvalidOperationException($"Gradient of shape {gradient.Shape} does not match tensor {t.Name ?? ""} of shape {t.Shape}.");
        if (t.Grad is null)
        {
            t.Grad = t.Backend.Empty(t.Shape);
            t.Backend.Copy(gradient, t.Grad);
        }
        else
        {
            t.Backend.Axpy(1f, gradient, t.Grad);
        }
    }

    /// <summary>Back-propagates from a scalar (one-element) root, seeding its gradient with 1.</summary>
    public static void Backward(Tensor root)
    {
        if (root.Numel != 1) throw new InvalidOperationException($"Backward needs a scalar root; got shape {root.Shape}.");
        if (!root.RequiresGrad) throw new InvalidOperationException("Backward: the root does not require gradients (was it computed under NoGrad, or from no parameter?).");
        var order = TopologicalOrder(root);
        root.Grad?.Dispose();
        root.Grad = Tensor.Full(root.Shape, 1f, root.Device);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (t.GradFn is null || t.Grad is null) continue;
            t.GradFn.Backward(t.Grad);
            // An intermediate's gradient is not needed once its node has propagated it.
            t.Grad.Dispose();
            t.Grad = null;
        }
    }

    /// <summary>
    /// Frees the buffers of every intermediate tensor in the graph below root (root included,
    /// leaves such as parameters and inputs excluded) and the nodes' saved temporaries.
    /// Call it after the optimiser step; the intermediates must not be used afterwards.
    /// </summary>
    public static void ReleaseGraph(Tensor root)
    {
        foreach (var t in TopologicalOrder(root))
        {
            if (t.GradFn is null) continue;
            foreach (var s in t.GradFn.Saved) s.Dispose();
            t.GradFn = null;
            t.Grad?.Dispose();
            t.Grad = null;
            t.Dispose();
        }
    }

    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor t, bool expanded)>();
        stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (t, expanded) = stack.Pop();
            if (expanded) { order.Add(t); continue; }
            if (!visited.Add(t)) continue;
            stack.Push((t, true));
            if (t.GradFn is not null)
                foreach (var input in t.GradFn.Inputs)
                    if (!visited.Contains(input)) stack.Push((input, false));
        }
        return order;
    }
}
