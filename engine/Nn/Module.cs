using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// A layer or a block of layers. Parameters, buffers and children are registered by name in
/// order, so <see cref="StateDict"/> yields PyTorch's state_dict keys ("layer1.0.weight",
/// "layer1.1.running_mean", "layer1.2.up", …). Composite modules look their children up by name at
/// forward time (<see cref="Child{T}"/>), so conversion can swap a child (QCFS → IF layer) with
/// <see cref="SetChild"/>. A child registered under the empty name is transparent: its parameters,
/// buffers and children appear under its parent's own path (a wrapper such as Snn.SynapseCounter keeps
/// the keys of the layer it wraps).
/// </summary>
public abstract class Module
{
    // Not readonly: CloneTree gives a copy its own lists.
    private List<(string Name, Tensor Tensor)> _parameters = [];
    private List<(string Name, Tensor Tensor)> _buffers = [];
    private List<(string Name, Module Module)> _children = [];

    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor x);

    /// <summary>Type name and settings, e.g. "Conv2d(3, 64, kernel=3, stride=1, padding=1)".</summary>
    public virtual string Describe() => GetType().Name;

    // ---- registration ----
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckNewName(name);
        tensor.RequiresGrad = true;
        tensor.Name ??= name;
        _parameters.Add((name, tensor));
        return tensor;
    }

    protected Tensor RegisterBuffer(string name, Tensor tensor)
    {
        CheckNewName(name);
        tensor.Name ??= name;
        _buffers.Add((name, tensor));
        return tensor;
    }

    protected T RegisterChild<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        _children.Add((name, module));
        return module;
    }

    private void CheckNewName(string name)
    {
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new InvalidOperationException($"{GetType().Name}: the name '{name}' is registered twice.");
    }

    /// <summary>The registered child called <paramref name="name"/>.</summary>
    public Module Child(string name)
    {
        foreach (var (n, m) in _children) if (n == name) return m;
        throw new KeyNotFoundException($"{GetType().Name} has no child '{name}'.");
    }

    public T Child<T>(string name) where T : Module => (T)Child(name);

    /// <summary>Replaces a registered child (used by SNN conversion).</summary>
    public void SetChild(string name, Module module)
    {
        for (int i = 0; i < _children.Count; i++)
            if (_children[i].Name == name) { _children[i] = (name, module); return; }
        throw new KeyNotFoundException($"{GetType().Name} has no child '{name}' to replace.");
    }

    /// <summary>Replaces a parameter's tensor (e.g. when folding BatchNorm into a convolution).</summary>
    protected void SetParameter(string name, Tensor tensor)
    {
        for (int i = 0; i < _parameters.Count; i++)
            if (_parameters[i].Name == name) { tensor.RequiresGrad = true; tensor.Name ??= name; _parameters[i] = (name, tensor); return; }
        throw new KeyNotFoundException($"{GetType().Name} has no parameter '{name}'.");
    }

    /// <summary>
    /// A copy of this module tree: every module is a new instance (same type and settings) with its own
    /// registration lists, so <see cref="SetChild"/> on the copy leaves this tree unchanged; parameter and
    /// buffer tensors are shared, not copied. Used by SNN conversion, which replaces children of the copy.
    /// </summary>
    public Module CloneTree()
    {
        var copy = (Module)MemberwiseClone();
        copy._parameters = [.. _parameters];
        copy._buffers = [.. _buffers];
        copy._children = _children.Select(c => (c.Name, c.Module.CloneTree())).ToList();
        return copy;
    }

    // ---- enumeration ----
    public IReadOnlyList<(string Name, Module Module)> Children() => _children;

    /// <summary>All modules below (and including) this one, with dotted paths ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in _children)
            foreach (var item in m.NamedModules(Join(prefix, n)))
                yield return item;
    }

    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "")
    {
        foreach (var (n, t) in _parameters) yield return (Join(prefix, n), t);
        foreach (var (n, m) in _children)
            foreach (var item in m.NamedParameters(Join(prefix, n))) yield return item;
    }

    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, t) in _buffers) yield return (Join(prefix, n), t);
        foreach (var (n, m) in _children)
            foreach (var item in m.NamedBuffers(Join(prefix, n))) yield return item;
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    public long ParameterCount => NamedParameters().Sum(p => (long)p.Tensor.Numel);

    /// <summary>Parameters and buffers in PyTorch's state_dict order (per module: parameters, then buffers, then children).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        Collect(d, "");
        return d;
    }

    private void Collect(Dictionary<string, Tensor> d, string prefix)
    {
        foreach (var (n, t) in _parameters) d[Join(prefix, n)] = t;
        foreach (var (n, t) in _buffers) d[Join(prefix, n)] = t;
        foreach (var (n, m) in _children) m.Collect(d, Join(prefix, n));
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : name.Length == 0 ? prefix : prefix + "." + name;

    /// <summary>
    /// Copies tensors into this module's parameters and buffers by name. Missing keys, unexpected keys
    /// and shape mismatches are reported together in one error; <paramref name="strict"/> = false
    /// tolerates missing and unexpected keys (never shape mismatches).
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> source, bool strict = true, string sourceName = "state_dict")
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = own.Where(kv => source.TryGetValue(kv.Key, out var s) && s.Shape != kv.Value.Shape)
            .Select(kv => $"{kv.Key}: expected {kv.Value.Shape}, found {source[kv.Key].Shape}").ToList();
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : "")}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected.Take(20))}{(unexpected.Count > 20 ? ", …" : "")}");
            if (mismatched.Count > 0) parts.Add($"shape mismatches ({mismatched.Count}): {string.Join("; ", mismatched.Take(20))}");
            throw new InvalidDataException($"Error loading {sourceName} into {GetType().Name}: {string.Join(". ", parts)}.");
        }
        foreach (var (key, dst) in own)
        {
            if (!source.TryGetValue(key, out var src)) continue;
            var host = src.Device == Device.Cpu ? src.Span.ToArray() : src.ToArray();
            dst.Backend.CopyFromHost(host, dst);
        }
    }

    // ---- mode ----
    public void Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
    }

    public void Eval() => Train(false);

    /// <summary>Moves every parameter and buffer to <paramref name="device"/> (in place).</summary>
    public virtual void To(Device device)
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            var (n, t) = _parameters[i];
            if (t.Device == device) continue;
            var moved = t.To(device);
            moved.RequiresGrad = true;
            moved.Name = t.Name;
            _parameters[i] = (n, moved);
            OnTensorReplaced(n, moved);
        }
        for (int i = 0; i < _buffers.Count; i++)
        {
            var (n, t) = _buffers[i];
            if (t.Device == device) continue;
            var moved = t.To(device);
            moved.Name = t.Name;
            _buffers[i] = (n, moved);
            OnTensorReplaced(n, moved);
        }
        foreach (var (_, m) in _children) m.To(device);
    }

    /// <summary>Layers that keep typed references to their tensors update them here when they are replaced.</summary>
    protected virtual void OnTensorReplaced(string name, Tensor tensor) { }

    /// <summary>The registered parameter or buffer called <paramref name="name"/> (current tensor).</summary>
    protected Tensor Get(string name)
    {
        foreach (var (n, t) in _parameters) if (n == name) return t;
        foreach (var (n, t) in _buffers) if (n == name) return t;
        throw new KeyNotFoundException($"{GetType().Name} has no parameter or buffer '{name}'.");
    }
}
