using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn.Graph;

/// <summary>
/// A network that runs a <see cref="GraphSpec"/> (imported ONNX models, engine/IO/Onnx). Each node with weights or a
/// threshold is a child module named after the node, looked up at forward time, so calibration (ReLU → QCFS) and SNN
/// conversion (QCFS → IF layer, Conv/Linear wrapped) swap children as in the zoo's models; a convolution followed by
/// its BatchNorm is one Sequential child (Conv2d, BatchNorm2d), which conversion folds. Settings per op:
/// conv (in, out, kernel, stride, padding, bias 0/1, batchnorm 0/1, eps), batchnorm (channels, eps), relu (max, absent
/// = +∞), qcfs (levels; λ is the parameter "up", in the weights), avgpool (kernel, stride, padding), linear (in, out, bias 0/1); globalavgpool, flatten,
/// add and concat have none (globalavgpool keeps ONNX's [N, C, 1, 1] output).
/// </summary>
public sealed class GraphNetwork : Module
{
    private readonly Dictionary<string, int> _uses = [];

    public GraphNetwork(GraphSpec spec, string source = "graph")
    {
        spec.Check(source);
        Spec = spec;
        foreach (var node in spec.Nodes)
            if (CreateLayer(node) is { } layer) RegisterChild(node.Name, layer);
        foreach (var node in spec.Nodes)
            foreach (var input in node.Inputs) _uses[input] = _uses.GetValueOrDefault(input) + 1;
        _uses[spec.Output] = _uses.GetValueOrDefault(spec.Output) + 1;
    }

    /// <summary>The graph this network runs (updated when a node is replaced).</summary>
    public GraphSpec Spec { get; private set; }

    /// <summary>Input channels, height, width.</summary>
    public IReadOnlyList<int> InputShape => Spec.InputShape;

    /// <summary>Replaces node <paramref name="node"/>.Name (same inputs and output) and its layer (calibration: relu → qcfs).</summary>
    public void ReplaceNode(GraphNode node, Module layer)
    {
        var old = Spec.Nodes.FirstOrDefault(n => n.Name == node.Name)
            ?? throw new KeyNotFoundException($"the graph has no node '{node.Name}'.");
        if (!old.Inputs.SequenceEqual(node.Inputs) || old.Output != node.Output)
            throw new ArgumentException($"graph node '{node.Name}': a replacement must keep the inputs and the output.");
        Spec = Spec.Replace(node);
        SetChild(node.Name, layer);
    }

    /// <summary>The layer a node runs (null for the ops without one: globalavgpool, flatten, add, concat run inline).</summary>
    public static Module? CreateLayer(GraphNode node) => node.Op switch
    {
        GraphOps.Conv => ConvLayer(node),
        GraphOps.BatchNorm => new BatchNorm2d(node.GetInt("channels"), eps: (float)node.Get("eps")),
        GraphOps.Relu => new Relu((float)node.GetOr("max", double.PositiveInfinity)),
        GraphOps.Qcfs => new Qcfs(node.GetInt("levels")),
        GraphOps.AvgPool => new AvgPool2d(node.GetInt("kernel"), node.GetInt("stride"), node.GetInt("padding")),
        GraphOps.GlobalAvgPool => new GlobalAvgPool2d(),
        GraphOps.Linear => new Linear(node.GetInt("in"), node.GetInt("out"), node.GetInt("bias") != 0),
        _ => null,
    };

    private static Module ConvLayer(GraphNode node)
    {
        var conv = new Conv2d(node.GetInt("in"), node.GetInt("out"), node.GetInt("kernel"), node.GetInt("stride"), node.GetInt("padding"), node.GetInt("bias") != 0);
        return node.GetOr("batchnorm", 0) != 0 ? new Sequential(conv, new BatchNorm2d(node.GetInt("out"), eps: (float)node.Get("eps"))) : conv;
    }

    public override Tensor Forward(Tensor x)
    {
        var expected = Spec.InputShape;
        if (x.Rank != 4 || x.Shape[1] != expected[0] || x.Shape[2] != expected[1] || x.Shape[3] != expected[2])
            throw new ArgumentException($"{Describe()}: expects images [N, {expected[0]}, {expected[1]}, {expected[2]}], got {x.Shape}.");
        var values = new Dictionary<string, Tensor> { [Spec.Input] = x };
        var uses = new Dictionary<string, int>(_uses);
        foreach (var node in Spec.Nodes)
        {
            var inputs = node.Inputs.Select(name => values[name]).ToList();
            var y = Apply(node, inputs);
            values[node.Output] = y;
            foreach (var name in node.Inputs)
            {
                if (--uses[name] > 0 || name == Spec.Input) continue;
                var consumed = values[name];
                values.Remove(name);
                // A view (flatten, reshape) shares its input's buffer: release a buffer only when no live value uses it.
                if (!values.Values.Any(v => ReferenceEquals(v.Storage, consumed.Storage))) Intermediates.Release(consumed, y);
            }
        }
        return values[Spec.Output];
    }

    private Tensor Apply(GraphNode node, List<Tensor> inputs)
    {
        switch (node.Op)
        {
            case GraphOps.Flatten:
                return F.Flatten(inputs[0], node.Name);
            case GraphOps.Add:
                return F.Add(inputs[0], inputs[1], $"graph node '{node.Name}' (add)");
            case GraphOps.Concat:
                return F.ConcatChannels(inputs, $"graph node '{node.Name}' (concat)");
            case GraphOps.GlobalAvgPool:
            {
                var pooled = Child(node.Name).Forward(inputs[0]);
                return F.Reshape(pooled, new Shape(pooled.Shape[0], pooled.Shape[1], 1, 1), node.Name);
            }
            default:
                return Child(node.Name).Forward(inputs[0]);
        }
    }

    public override string Describe() => $"GraphNetwork({Spec.Nodes.Count} nodes)";
}
