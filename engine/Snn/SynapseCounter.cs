using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// Wraps a Conv2d or Linear of a converted network and, while a <see cref="SpikeRecorder"/> listens,
/// counts its synaptic operations: for each non-zero input element, the number of outputs it feeds
/// (its fan-out; exact at padded borders). Layers that run before the first IF layer see the analog
/// image and are counted as dense multiply-accumulates instead. The layer is a registered child under
/// the empty name, so the converted network's StateDict(), Parameters() and To() see its weight and
/// bias under the layer's own path ("features.0.weight").
/// </summary>
public sealed class SynapseCounter : Module
{
    private int[]? _fanOut;
    private Shape? _fanOutFor;

    internal SynapseCounter(string layerName, Module layer, SimulationContext context)
    {
        if (layer is not (Conv2d or Linear)) throw new ArgumentException($"SynapseCounter wraps Conv2d or Linear, not {layer.GetType().Name} ('{layerName}').");
        LayerName = layerName;
        RegisterChild("", layer);
        Context = context;
    }

    public string LayerName { get; }
    /// <summary>The wrapped Conv2d or Linear (BatchNorm already folded in where it followed).</summary>
    public Module Layer => Child("");
    internal SimulationContext Context { get; }

    public override Tensor Forward(Tensor x)
    {
        var layer = Layer;
        var y = layer.Forward(x);
        Context.Recorder?.RecordSynapses(this, x, y, dense: !Context.SpikesStarted);
        return y;
    }

    /// <summary>Multiply-accumulates per image of the dense layer (fan-in × outputs).</summary>
    internal long DenseMacsPerImage(Tensor x, Tensor y)
    {
        long outputsPerImage = y.Numel / y.Shape[0];
        long fanIn = Layer is Conv2d c ? (long)c.InChannels * c.KernelSize * c.KernelSize : ((Linear)Layer).InFeatures;
        return outputsPerImage * fanIn;
    }

    /// <summary>For one image's input [C, H, W] (or [features]): how many outputs each input position feeds.</summary>
    internal int[] FanOut(Tensor x)
    {
        var perImage = new Shape(x.Shape.ToArray()[1..]);
        if (_fanOut is not null && _fanOutFor == perImage) return _fanOut;
        if (Layer is Linear linear)
            _fanOut = [linear.OutFeatures];
        else
        {
            var c = (Conv2d)Layer;
            int h = x.Shape[2], w = x.Shape[3];
            int ho = (h + 2 * c.Padding - c.KernelSize) / c.Stride + 1, wo = (w + 2 * c.Padding - c.KernelSize) / c.Stride + 1;
            var rows = Reach(h, ho, c);
            var cols = Reach(w, wo, c);
            _fanOut = new int[h * w];
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++) _fanOut[i * w + j] = c.OutChannels * rows[i] * cols[j];
        }
        _fanOutFor = perImage;
        return _fanOut;
    }

    /// <summary>Per input index along one axis: the number of output indices whose window covers it.</summary>
    private static int[] Reach(int size, int outSize, Conv2d c)
    {
        var reach = new int[size];
        for (int o = 0; o < outSize; o++)
            for (int k = 0; k < c.KernelSize; k++)
            {
                int i = o * c.Stride - c.Padding + k;
                if (i >= 0 && i < size) reach[i]++;
            }
        return reach;
    }

    public override string Describe() => Layer.Describe();
}
