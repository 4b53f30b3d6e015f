using System.Diagnostics;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Snn;

/// <summary>
/// ANN → SNN conversion (METHOD.md §2) on a copy of the trained module tree: BatchNorm (eval) that follows
/// a Conv2d/Linear inside a Sequential is folded into it; Dropout becomes Identity; each QCFS unit
/// becomes an <see cref="IfLayer"/> with θ = λ; every Conv2d/Linear is wrapped in a
/// <see cref="SynapseCounter"/>. The ANN itself is left untouched.
/// </summary>
public static class SnnConverter
{
    public static SpikingNetwork Convert(Module ann)
    {
        ArgumentNullException.ThrowIfNull(ann);
        if (ann.NamedModules().FirstOrDefault(m => m.Module is Relu) is { Module: not null } relu)
            throw new ArgumentException($"SNN conversion: '{relu.Name}' is a {relu.Module.Describe()} without a threshold; calibrate the imported network's thresholds first (Calibration.ThresholdCalibration, METHOD.md §9).");
        var qcfs = ann.NamedModules().Where(m => m.Module is Qcfs).ToList();
        if (qcfs.Count == 0)
            throw new ArgumentException($"SNN conversion: the model {ann.Describe()} has no QCFS unit, so there is nothing to turn into IF neurons (train it with QCFS activations).");
        foreach (var (name, m) in qcfs)
        {
            float lambda = ((Qcfs)m).Up.Item();
            if (!(lambda > 0) || float.IsInfinity(lambda))
                throw new ArgumentException($"SNN conversion: QCFS layer '{name}' has λ (up) = {lambda}; the IF threshold θ = λ must be finite and > 0.");
        }

        var context = new SimulationContext();
        var copy = ann.CloneTree();
        copy.Eval();
        var ifLayers = new List<IfLayer>();
        var synapses = new List<SynapseCounter>();
        Rewrite(copy, "", context, ifLayers, synapses);
        return new SpikingNetwork(copy, ifLayers, synapses, context);
    }

    /// <summary>
    /// The ANN as conversion prepares it, QCFS units kept: a copy in eval mode with BatchNorm folded and
    /// dropout removed. Its forward must equal the original's up to float rounding.
    /// </summary>
    public static Module FoldedAnn(Module ann)
    {
        var copy = ann.CloneTree();
        copy.Eval();
        Rewrite(copy, "", null, null, null);
        return copy;
    }

    /// <summary>Rewrites the children of <paramref name="parent"/>; with a null context QCFS units stay and layers are not wrapped.</summary>
    private static void Rewrite(Module parent, string prefix, SimulationContext? context, List<IfLayer>? ifLayers, List<SynapseCounter>? synapses)
    {
        var children = parent.Children().ToList();
        for (int i = 0; i < children.Count; i++)
        {
            var (name, child) = children[i];
            string path = prefix.Length == 0 ? name : prefix + "." + name;
            switch (child)
            {
                case Qcfs q when context is not null:
                    var layer = new IfLayer(path, q.Up.Item(), q.Levels, context);
                    parent.SetChild(name, layer);
                    ifLayers!.Add(layer);
                    break;
                case Dropout:
                    parent.SetChild(name, new Identity());
                    break;
                case Conv2d or Linear:
                    var synaptic = child;
                    if (parent is Sequential && i + 1 < children.Count && children[i + 1].Module is BatchNorm2d bn)
                    {
                        synaptic = BatchNormFolding.Fold(child, bn, path);
                        parent.SetChild(children[i + 1].Name, new Identity());
                        i++;
                    }
                    if (context is null) { parent.SetChild(name, synaptic); break; }
                    var counter = new SynapseCounter(path, synaptic, context);
                    parent.SetChild(name, counter);
                    synapses!.Add(counter);
                    break;
                default:
                    Rewrite(child, path, context, ifLayers, synapses);
                    break;
            }
        }
    }
}

/// <summary>
/// Folds an eval-mode BatchNorm2d into the preceding Conv2d/Linear (a new layer; the originals are not
/// changed): with s = γ / sqrt(running_var + ε), W' = W · s (per output channel), b' = (b − mean) · s + β.
/// Computed in double, rounded once to float.
/// </summary>
public static class BatchNormFolding
{
    public static Module Fold(Module layer, BatchNorm2d bn, string name)
    {
        var (weight, bias, outChannels) = layer switch
        {
            Conv2d c => (c.Weight, c.Bias, c.OutChannels),
            Linear l => (l.Weight, l.Bias, l.OutFeatures),
            _ => throw new ArgumentException($"BatchNorm folding: '{name}' is {layer.GetType().Name}, not Conv2d or Linear."),
        };
        if (bn.Channels != outChannels)
            throw new ArgumentException($"BatchNorm folding: '{name}' has {outChannels} output channels but the BatchNorm after it has {bn.Channels}.");
        var w = weight.ToArray();
        var b = bias?.ToArray() ?? new float[outChannels];
        var gamma = bn.Weight.ToArray();
        var beta = bn.Bias.ToArray();
        var mean = bn.RunningMean.ToArray();
        var variance = bn.RunningVar.ToArray();
        int perChannel = w.Length / outChannels;
        var foldedW = new float[w.Length];
        var foldedB = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double scale = gamma[o] / Math.Sqrt(variance[o] + (double)bn.Eps);
            for (int i = 0; i < perChannel; i++) foldedW[o * perChannel + i] = (float)(w[o * perChannel + i] * scale);
            foldedB[o] = (float)((b[o] - (double)mean[o]) * scale + beta[o]);
        }
        Module folded = layer switch
        {
            Conv2d c => new Conv2d(c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding, bias: true),
            Linear l => new Linear(l.InFeatures, l.OutFeatures, bias: true),
            _ => throw new UnreachableException(),
        };
        folded.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.FromArray(foldedW, weight.Shape),
            ["bias"] = Tensor.FromArray(foldedB, new Shape(outChannels)),
        }, strict: true, sourceName: $"folded '{name}'");
        if (weight.Device != Device.Cpu) folded.To(weight.Device);
        folded.Eval();
        return folded;
    }
}
