using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>
/// Stochastic gradient descent as PyTorch's torch.optim.SGD (momentum, weight decay on every
/// parameter, λ included; no dampening, no Nesterov), via <see cref="Backend.IBackend.SgdUpdate"/>.
/// Parameters without a gradient are skipped, as in PyTorch.
/// </summary>
public sealed class Sgd
{
    private readonly (string Name, Tensor Param)[] _params;
    private readonly Dictionary<string, Tensor> _momentum = [];

    public Sgd(IEnumerable<(string Name, Tensor Tensor)> parameters, float lr, float momentum = 0.9f, float weightDecay = 5e-4f)
    {
        _params = parameters.Select(p => (p.Name, p.Tensor)).ToArray();
        if (_params.Length == 0) throw new ArgumentException("SGD: no parameters to optimise.");
        if (lr <= 0 || !float.IsFinite(lr)) throw new ArgumentException($"SGD: the learning rate must be positive, got {lr}.");
        if (momentum < 0 || momentum >= 1) throw new ArgumentException($"SGD: momentum must be in [0, 1), got {momentum}.");
        if (weightDecay < 0) throw new ArgumentException($"SGD: weight decay must be non-negative, got {weightDecay}.");
        LearningRate = lr;
        Momentum = momentum;
        WeightDecay = weightDecay;
    }

    public float LearningRate { get; set; }
    public float Momentum { get; }
    public float WeightDecay { get; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        foreach (var (name, p) in _params)
        {
            if (p.Grad is null) continue;
            bool first = !_momentum.TryGetValue(name, out var buf);
            if (first)
            {
                buf = p.Backend.Empty(p.Shape);
                _momentum[name] = buf;
            }
            p.Backend.SgdUpdate(p, p.Grad, buf!, LearningRate, Momentum, WeightDecay, first);
        }
    }

    /// <summary>Releases the parameters' gradients (their buffers go back to the pool).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in _params)
        {
            p.Grad?.Dispose();
            p.Grad = null;
        }
    }

    /// <summary>The momentum buffers by parameter name (for checkpoints).</summary>
    public IReadOnlyDictionary<string, Tensor> MomentumBuffers => _momentum;

    /// <summary>Restores momentum buffers saved by <see cref="MomentumBuffers"/>; unknown names or wrong shapes are an error.</summary>
    public void LoadMomentum(IReadOnlyDictionary<string, Tensor> buffers, string source)
    {
        foreach (var (name, saved) in buffers)
        {
            var match = _params.FirstOrDefault(p => p.Name == name);
            if (match.Param is null) throw new InvalidDataException($"{source}: momentum buffer for unknown parameter '{name}'.");
            if (saved.Shape != match.Param.Shape)
                throw new InvalidDataException($"{source}: momentum buffer '{name}' has shape {saved.Shape}, the parameter has {match.Param.Shape}.");
            if (_momentum.Remove(name, out var old)) old.Dispose();
            _momentum[name] = saved.Device == match.Param.Device ? saved.Clone() : saved.To(match.Param.Device);
        }
    }
}
