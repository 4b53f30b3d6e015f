using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// Children "0", "1", … applied in order (looked up at forward time, so a converted child takes
/// effect). An empty Sequential returns its input (the reference's identity shortcut).
/// </summary>
public sealed class Sequential : Module
{
    public Sequential(params Module[] layers)
    {
        for (int i = 0; i < layers.Length; i++) RegisterChild(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
        Count = layers.Length;
    }

    public int Count { get; }

    public Module this[int index] => Child(index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public override Tensor Forward(Tensor x) => Intermediates.Chain(this, x);

    public override string Describe() => $"Sequential({Count})";
}

/// <summary>
/// Without a recorded graph nothing refers to an intermediate activation once the next layer has
/// consumed it, so evaluation and simulation return it to the buffer pool at once. Layers must not
/// keep references to their outputs.
/// </summary>
internal static class Intermediates
{
    /// <summary>
    /// Applies the children of <paramref name="parent"/> in registration order; in training mode a BatchNorm2d followed
    /// by a QCFS unit runs as one operation (<see cref="BatchNorm2d.ForwardWithQcfs"/>).
    /// </summary>
    public static Tensor Chain(Module parent, Tensor x)
    {
        var children = parent.Children();
        var current = x;
        for (int i = 0; i < children.Count; i++)
        {
            Tensor next;
            if (children[i].Module is BatchNorm2d { Training: true } bn && i + 1 < children.Count && children[i + 1].Module is Qcfs qcfs)
            {
                next = bn.ForwardWithQcfs(current, qcfs);
                i++;
            }
            else next = children[i].Module.Forward(current);
            if (current != x) Release(current, next);
            current = next;
        }
        return current;
    }

    /// <summary>Disposes <paramref name="consumed"/> when gradients are off and <paramref name="produced"/> does not share its buffer.</summary>
    public static void Release(Tensor consumed, Tensor produced)
    {
        if (Grad.Enabled || ReferenceEquals(consumed, produced) || ReferenceEquals(consumed.Storage, produced.Storage)) return;
        consumed.Dispose();
    }
}
