using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Gpu;

/// <summary>
/// The converted (BN folded, QCFS → IF with COS) VGG-16 or ResNet-20 of engine/METHOD.md §8 at CIFAR shapes,
/// built from backend ops with random weights: the same computation tools/peers/gpu_torch.py times
/// in PyTorch. The whole spike train runs layer by layer as a batch of N·B samples (N = max(ρ, T)).
/// </summary>
public sealed class SnnBenchModel : IDisposable
{
    private static readonly int[] Vgg16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    private readonly IBackend _b;
    private readonly int _steps, _presim;
    private readonly Random _rng = new(1);
    private readonly List<(Tensor W, Tensor? Bias, int Stride, int Pad)> _convs = new();
    private readonly List<(Tensor W, Tensor Bias)> _linears = new();
    public string Name { get; }

    public SnnBenchModel(IBackend backend, string name, int steps, int presim)
    {
        _b = backend; _steps = steps; _presim = presim; Name = name;
        if (name == "VGG-16")
        {
            int c = 3;
            foreach (var v in Vgg16) if (v > 0) { AddConv(c, v, 3, 1, 1, bias: true); c = v; }
            AddLinear(512, 4096); AddLinear(4096, 4096); AddLinear(4096, 10);
        }
        else if (name == "ResNet-20")
        {
            AddConv(3, 16, 3, 1, 1, bias: true);
            int c = 16;
            foreach (var (cout, stride) in new[] { (16, 1), (32, 2), (64, 2) })
                for (int i = 0; i < 3; i++)
                {
                    int s = i == 0 ? stride : 1;
                    AddConv(c, cout, 3, s, 1, bias: true);
                    AddConv(cout, cout, 3, 1, 1, bias: true);
                    if (s != 1 || c != cout) AddConv(c, cout, 1, s, 0, bias: true);
                    c = cout;
                }
            AddLinear(64, 10);
        }
        else throw new ArgumentException($"Unknown model '{name}': expected VGG-16 or ResNet-20.");
    }

    private Tensor Upload(float[] data, Shape shape)
    {
        var t = _b.Empty(shape);
        _b.CopyFromHost(data, t);
        return t;
    }

    private float[] Init(int n, int fanIn)
    {
        float scale = 2f / MathF.Sqrt(fanIn);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = ((float)_rng.NextDouble() * 2f - 1f) * scale;
        return a;
    }

    private void AddConv(int cin, int cout, int k, int stride, int pad, bool bias)
        => _convs.Add((Upload(Init(cout * cin * k * k, cin * k * k), new Shape(cout, cin, k, k)),
            bias ? Upload(Init(cout, cin * k * k), new Shape(cout)) : null, stride, pad));

    private void AddLinear(int inF, int outF)
        => _linears.Add((Upload(Init(outF * inF, inF), new Shape(outF, inF)), Upload(Init(outF, inF), new Shape(outF))));

    private Tensor Conv(Tensor x, int index)
    {
        var (w, bias, stride, pad) = _convs[index];
        var g = Conv2dGeometry.Create(x.Shape, w.Shape, stride, stride, pad, pad);
        var y = _b.Empty(g.OutputShape);
        _b.Conv2dForward(x, w, bias, y, g);
        return y;
    }

    /// <summary>IF with COS over the layer's whole spike train; disposes the input.</summary>
    private Tensor If(Tensor z)
    {
        var y = _b.Empty(z.Shape);
        _b.IfNeuronForward(z, Math.Max(_steps, _presim), 1f, _presim, 1, y, null);
        z.Dispose();
        return y;
    }

    private Tensor Pool(Tensor x)
    {
        var g = Pool2dGeometry.Create(x.Shape, 2, 2, 0);
        var y = _b.Empty(g.OutputShape);
        _b.AvgPool2dForward(x, y, g);
        x.Dispose();
        return y;
    }

    private Tensor Linear(Tensor x, int index)
    {
        var (w, bias) = _linears[index];
        var y = _b.Empty(new Shape(x.Shape[0], w.Shape[0]));
        _b.LinearForward(x, w, bias, y);
        return y;
    }

    /// <summary>One SNN run on images [N·B, 3, 32, 32] (the input repeated per step); returns the per-step predictions (T × B).</summary>
    public int[][] Run(Tensor images, int batch)
    {
        var logits = Name == "VGG-16" ? ForwardVgg(images) : ForwardResNet(images);
        var host = logits.ToArray();
        logits.Dispose();
        int classes = 10;
        var acc = new float[batch * classes];
        var predictions = new int[_steps][];
        for (int t = 0; t < _steps; t++)
        {
            predictions[t] = new int[batch];
            for (int i = 0; i < acc.Length; i++) acc[i] += host[t * acc.Length + i];
            for (int r = 0; r < batch; r++)
            {
                int best = 0;
                for (int j = 1; j < classes; j++) if (acc[r * classes + j] > acc[r * classes + best]) best = j;
                predictions[t][r] = best;
            }
        }
        return predictions;
    }

    private Tensor ForwardVgg(Tensor images)
    {
        Tensor x = images;
        int conv = 0;
        bool owned = false;
        foreach (var v in Vgg16)
        {
            Tensor next = v > 0 ? If(Conv(x, conv++)) : Pool(x);
            if (v > 0 && owned) x.Dispose();
            x = next; owned = true;
        }
        var flat = x.View(new Shape(x.Shape[0], 512));
        var h1 = If(Linear(flat, 0));
        x.Dispose();
        var h2 = If(Linear(h1, 1));
        h1.Dispose();
        var o = Linear(h2, 2);
        h2.Dispose();
        return o;
    }

    private Tensor ForwardResNet(Tensor images)
    {
        var x = If(Conv(images, 0));
        int conv = 1, c = 16;
        foreach (var (cout, stride) in new[] { (16, 1), (32, 2), (64, 2) })
            for (int i = 0; i < 3; i++)
            {
                int s = i == 0 ? stride : 1;
                var h = If(Conv(x, conv++));
                var r = Conv(h, conv++);
                h.Dispose();
                Tensor shortcut = x;
                bool projected = s != 1 || c != cout;
                if (projected) shortcut = Conv(x, conv++);
                _b.Add(r, shortcut, r);
                if (projected) shortcut.Dispose();
                x.Dispose();
                x = If(r);
                c = cout;
            }
        var pooled = _b.Empty(new Shape(x.Shape[0], 64));
        _b.GlobalAvgPoolForward(x, pooled);
        x.Dispose();
        var o = Linear(pooled, 0);
        pooled.Dispose();
        return o;
    }

    public void Dispose()
    {
        foreach (var (w, b, _, _) in _convs) { w.Dispose(); b?.Dispose(); }
        foreach (var (w, b) in _linears) { w.Dispose(); b.Dispose(); }
    }
}
