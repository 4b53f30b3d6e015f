using SpikeEngine.Backend;
using SpikeEngine.Tensors;

namespace SpikeEngine.Bench.Gpu;

/// <summary>
/// QCFS VGG-16 / ResNet-20 (CIFAR shapes, engine/METHOD.md §8) as a chain of backend ops with hand-written
/// backward passes, for training-throughput measurement on any backend (the same models as
/// tools/peers/gpu_torch.py). Bench-only: swap for the Nn models once they drive the CUDA backend.
/// </summary>
public sealed class TrainBenchModel : IDisposable
{
    private interface ILayer : IDisposable
    {
        Tensor Forward(Tensor x);
        /// <summary>Returns dx; accumulates nothing (parameter gradients are overwritten).</summary>
        Tensor Backward(Tensor dy);
        IEnumerable<Param> Params { get; }
    }

    private sealed record Param(Tensor Value, Tensor Grad, Tensor Momentum);

    private readonly IBackend _b;
    private readonly Random _rng = new(5);
    private readonly List<ILayer> _layers = new();
    private const int Levels = 4;

    public TrainBenchModel(IBackend backend, string name)
    {
        _b = backend;
        if (name == "VGG-16")
        {
            int c = 3;
            foreach (var v in new[] { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0 })
            {
                if (v == 0) { _layers.Add(new Pool(this)); continue; }
                _layers.Add(new Conv(this, c, v, 3, 1, 1, bias: true)); _layers.Add(new Bn(this, v)); _layers.Add(new Qcfs(this));
                c = v;
            }
            _layers.Add(new Flatten());
            _layers.Add(new Linear(this, 512, 4096)); _layers.Add(new Qcfs(this)); _layers.Add(new Dropout(this, 0.5f));
            _layers.Add(new Linear(this, 4096, 4096)); _layers.Add(new Qcfs(this)); _layers.Add(new Dropout(this, 0.5f));
            _layers.Add(new Linear(this, 4096, 10));
        }
        else if (name == "ResNet-20")
        {
            _layers.Add(new Conv(this, 3, 16, 3, 1, 1, bias: false)); _layers.Add(new Bn(this, 16)); _layers.Add(new Qcfs(this));
            int c = 16;
            foreach (var (cout, stride) in new[] { (16, 1), (32, 2), (64, 2) })
                for (int i = 0; i < 3; i++)
                {
                    int s = i == 0 ? stride : 1;
                    _layers.Add(new Block(this, c, cout, s));
                    c = cout;
                }
            _layers.Add(new GlobalPool(this));
            _layers.Add(new Linear(this, 64, 10));
        }
        else throw new ArgumentException($"Unknown model '{name}': expected VGG-16 or ResNet-20.");
    }

    private IEnumerable<Param> AllParams => _layers.SelectMany(l => l.Params);

    private readonly List<Tensor> _stepTensors = new();

    /// <summary>An activation or gradient that lives until the end of the current step.</summary>
    private Tensor Temp(Shape shape)
    {
        var t = _b.Empty(shape);
        _stepTensors.Add(t);
        return t;
    }

    /// <summary>One SGD step (momentum 0.9, wd 5e-4) on images [B,3,32,32]; returns the loss.</summary>
    public float TrainStep(Tensor images, int[] labels, bool firstStep)
    {
        try
        {
            var x = images;
            foreach (var layer in _layers) x = layer.Forward(x);
            var dy = Temp(x.Shape);
            float loss = _b.SoftmaxCrossEntropy(x, labels, dy);
            for (int i = _layers.Count - 1; i >= 0; i--) dy = _layers[i].Backward(dy);
            foreach (var p in AllParams) _b.SgdUpdate(p.Value, p.Grad, p.Momentum, 0.02f, 0.9f, 5e-4f, firstStep);
            return loss;
        }
        finally
        {
            foreach (var t in _stepTensors) t.Dispose(); // back to the pool, reused by the next step
            _stepTensors.Clear();
        }
    }

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
    }

    // ---- layers (each keeps what its backward needs until the next forward) ----

    private Param NewParam(Shape shape, int fanIn, float? constant = null)
    {
        var host = new float[shape.Numel];
        float scale = 1f / MathF.Sqrt(fanIn);
        for (int i = 0; i < host.Length; i++) host[i] = constant ?? ((float)_rng.NextDouble() * 2f - 1f) * scale;
        var v = _b.Empty(shape);
        _b.CopyFromHost(host, v);
        return new Param(v, _b.Zeros(shape), _b.Zeros(shape));
    }

    private static void DisposeParams(IEnumerable<Param> ps)
    {
        foreach (var p in ps) { p.Value.Dispose(); p.Grad.Dispose(); p.Momentum.Dispose(); }
    }

    private sealed class Conv(TrainBenchModel m, int cin, int cout, int k, int stride, int pad, bool bias) : ILayer
    {
        private readonly Param _w = m.NewParam(new Shape(cout, cin, k, k), cin * k * k);
        private readonly Param? _bias = bias ? m.NewParam(new Shape(cout), cin * k * k) : null;
        private Tensor? _x;
        private Conv2dGeometry _g;
        public Tensor Forward(Tensor x)
        {
            _x = x;
            _g = Conv2dGeometry.Create(x.Shape, _w.Value.Shape, stride, stride, pad, pad);
            var y = m.Temp(_g.OutputShape);
            m._b.Conv2dForward(x, _w.Value, _bias?.Value, y, _g);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(_g.InputShape);
            m._b.Conv2dBackwardData(dy, _w.Value, dx, _g);
            m._b.Conv2dBackwardWeight(_x!, dy, _w.Grad, _bias?.Grad, _g);
            return dx;
        }
        public IEnumerable<Param> Params => _bias is null ? [_w] : [_w, _bias];
        public void Dispose() => DisposeParams(Params);
    }

    private sealed class Bn(TrainBenchModel m, int c) : ILayer
    {
        private readonly Param _gamma = m.NewParam(new Shape(c), 1, 1f), _beta = m.NewParam(new Shape(c), 1, 0f);
        private readonly Tensor _rm = m._b.Zeros(new Shape(c)), _rv = m._b.Zeros(new Shape(c));
        private readonly Tensor _mean = m._b.Empty(new Shape(c)), _invStd = m._b.Empty(new Shape(c));
        private Tensor? _x;
        public Tensor Forward(Tensor x)
        {
            _x = x;
            var y = m.Temp(x.Shape);
            m._b.BatchNormForwardTraining(x, _gamma.Value, _beta.Value, _rm, _rv, 0.1f, 1e-5f, y, _mean, _invStd);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(dy.Shape);
            m._b.BatchNormBackward(dy, _x!, _gamma.Value, _mean, _invStd, dx, _gamma.Grad, _beta.Grad);
            return dx;
        }
        public IEnumerable<Param> Params => [_gamma, _beta];
        public void Dispose() { DisposeParams(Params); _rm.Dispose(); _rv.Dispose(); _mean.Dispose(); _invStd.Dispose(); }
    }

    private sealed class Qcfs(TrainBenchModel m) : ILayer
    {
        private readonly Param _lambda = m.NewParam(new Shape(1), 1, 8f);
        private Tensor? _x;
        public Tensor Forward(Tensor x)
        {
            _x = x;
            var y = m.Temp(x.Shape);
            m._b.QcfsForward(x, _lambda.Value, Levels, y);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(dy.Shape);
            m._b.QcfsBackward(dy, _x!, _lambda.Value, Levels, dx, _lambda.Grad);
            return dx;
        }
        public IEnumerable<Param> Params => [_lambda];
        public void Dispose() { DisposeParams(Params); }
    }

    private sealed class Pool(TrainBenchModel m) : ILayer
    {
        private Pool2dGeometry _g;
        public Tensor Forward(Tensor x)
        {
            _g = Pool2dGeometry.Create(x.Shape, 2, 2, 0);
            var y = m.Temp(_g.OutputShape);
            m._b.AvgPool2dForward(x, y, _g);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(_g.InputShape);
            m._b.AvgPool2dBackward(dy, dx, _g);
            return dx;
        }
        public IEnumerable<Param> Params => [];
        public void Dispose() { }
    }

    private sealed class GlobalPool(TrainBenchModel m) : ILayer
    {
        private Shape? _in;
        public Tensor Forward(Tensor x)
        {
            _in = x.Shape;
            var y = m.Temp(new Shape(x.Shape[0], x.Shape[1]));
            m._b.GlobalAvgPoolForward(x, y);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(_in!);
            m._b.GlobalAvgPoolBackward(dy, dx);
            return dx;
        }
        public IEnumerable<Param> Params => [];
        public void Dispose() { }
    }

    private sealed class Flatten : ILayer
    {
        private Shape? _in;
        public Tensor Forward(Tensor x) { _in = x.Shape; return x.View(new Shape(x.Shape[0], x.Shape.SizeFrom(1))); }
        public Tensor Backward(Tensor dy) => dy.View(_in!);
        public IEnumerable<Param> Params => [];
        public void Dispose() { }
    }

    private sealed class Linear(TrainBenchModel m, int inF, int outF) : ILayer
    {
        private readonly Param _w = m.NewParam(new Shape(outF, inF), inF), _bias = m.NewParam(new Shape(outF), inF);
        private Tensor? _x;
        public Tensor Forward(Tensor x)
        {
            _x = x;
            var y = m.Temp(new Shape(x.Shape[0], outF));
            m._b.LinearForward(x, _w.Value, _bias.Value, y);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(_x!.Shape);
            m._b.LinearBackward(_x, _w.Value, dy, dx, _w.Grad, _bias.Grad);
            return dx;
        }
        public IEnumerable<Param> Params => [_w, _bias];
        public void Dispose() { DisposeParams(Params); }
    }

    private sealed class Dropout(TrainBenchModel m, float p) : ILayer
    {
        private Tensor? _mask;
        private ulong _seed = 17;
        public Tensor Forward(Tensor x)
        {
            _mask = m.Temp(x.Shape);
            var y = m.Temp(x.Shape);
            m._b.DropoutForward(x, p, _seed++, y, _mask);
            return y;
        }
        public Tensor Backward(Tensor dy)
        {
            var dx = m.Temp(dy.Shape);
            m._b.Mul(dy, _mask!, dx);
            return dx;
        }
        public IEnumerable<Param> Params => [];
        public void Dispose() { }
    }

    /// <summary>BasicBlock: relu(residual(x) + shortcut(x)); the input is shared by both branches.</summary>
    private sealed class Block : ILayer
    {
        private readonly TrainBenchModel _m;
        private readonly ILayer[] _residual, _shortcut;
        private readonly Qcfs _relu;

        public Block(TrainBenchModel m, int cin, int cout, int stride)
        {
            _m = m;
            _residual = [new Conv(m, cin, cout, 3, stride, 1, false), new Bn(m, cout), new Qcfs(m), new Conv(m, cout, cout, 3, 1, 1, false), new Bn(m, cout)];
            _shortcut = stride != 1 || cin != cout ? [new Conv(m, cin, cout, 1, stride, 0, false), new Bn(m, cout)] : [];
            _relu = new Qcfs(m);
        }

        public Tensor Forward(Tensor x)
        {
            var r = x;
            foreach (var l in _residual) r = l.Forward(r);
            var s = x;
            foreach (var l in _shortcut) s = l.Forward(s);
            _m._b.Add(r, s, r);
            return _relu.Forward(r);
        }

        public Tensor Backward(Tensor dy)
        {
            var dsum = _relu.Backward(dy);
            var dr = dsum;
            for (int i = _residual.Length - 1; i >= 0; i--) dr = _residual[i].Backward(dr);
            var ds = dsum;
            for (int i = _shortcut.Length - 1; i >= 0; i--) ds = _shortcut[i].Backward(ds);
            _m._b.Add(dr, ds, dr);
            return dr;
        }

        public IEnumerable<Param> Params => _residual.Concat(_shortcut).Append(_relu).SelectMany(l => l.Params);
        public void Dispose() { foreach (var l in _residual.Concat(_shortcut).Append(_relu)) l.Dispose(); }
    }
}
