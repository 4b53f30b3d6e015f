using System.Globalization;
using Onnx;
using SpikeEngine.Nn.Graph;
using SpikeEngine.Tensors;

namespace SpikeEngine.IO.Onnx;

/// <summary>Import choices: swapping max pooling for average pooling (conversion needs average pooling, METHOD.md §8).</summary>
public sealed record OnnxImportOptions
{
    public bool MaxPoolToAvgPool { get; init; }
}

/// <summary>An imported ONNX model: the graph, its weights by state_dict key, and what the file said.</summary>
public sealed class ImportedGraph(string path, GraphSpec spec, Dictionary<string, Tensor> weights, int opset, string producer, int classes, IReadOnlyList<string> notes)
{
    public string Path { get; } = path;
    public GraphSpec Spec { get; } = spec;
    public Dictionary<string, Tensor> Weights { get; } = weights;
    public int Opset { get; } = opset;
    /// <summary>producer_name and version from the file, e.g. "pytorch 1.13.0".</summary>
    public string Producer { get; } = producer;
    public int Classes { get; } = classes;
    /// <summary>What the import changed (max pooling swapped, …).</summary>
    public IReadOnlyList<string> Notes { get; } = notes;

    /// <summary>A network of the graph with the file's weights, in eval mode.</summary>
    public GraphNetwork CreateNetwork()
    {
        var network = new GraphNetwork(Spec, Path);
        network.LoadStateDict(Weights, strict: true, Path);
        network.Eval();
        return network;
    }
}

/// <summary>
/// ONNX → <see cref="GraphSpec"/> + weights, for inference graphs of Conv, BatchNormalization, Relu, Clip(0, max),
/// AveragePool, GlobalAveragePool, MaxPool (only swapped for average pooling), Gemm, MatMul + Add, Flatten, Reshape to
/// [N, −1], Add, Concat (channels), Dropout, Identity and Constant, opsets 11–18 (<see cref="OnnxFile"/>). Shapes
/// are followed through the graph from the input's [C, H, W], so every layer's size is known and checked at import.
/// A node or attribute outside this set ends in one <see cref="InvalidDataException"/> naming the node, its op type
/// and what is supported.
/// </summary>
public static class OnnxImporter
{
    public const string Supported = "Conv (square kernel, equal strides, symmetric padding, group 1, dilation 1), BatchNormalization, Relu, " +
        "Clip(0, max), AveragePool, GlobalAveragePool, MaxPool (with --maxpool_to_avgpool), Gemm, MatMul + Add (bias), Flatten (axis 1), " +
        "Reshape to [N, -1] (also with a target computed by Shape, Gather, Unsqueeze, Concat), Add (of two layer outputs), Concat (axis 1), " +
        "Dropout, Identity, Constant, Pad (zeros, before Conv or AveragePool)";

    public static ImportedGraph Import(string path, OnnxImportOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        var model = OnnxFile.Read(path);
        int opset = OnnxFile.Opset(model, path);
        var builder = new Builder(path, model.Graph, options ?? new OnnxImportOptions());
        var (spec, weights, classes) = builder.Build();
        string producer = $"{model.ProducerName} {model.ProducerVersion}".Trim();
        return new ImportedGraph(path, spec, weights, opset, producer.Length == 0 ? "(not recorded)" : producer, classes, builder.Notes);
    }

    /// <summary>A node under construction (BatchNorm and a bias may still be merged into it).</summary>
    private sealed class Draft(string name, string op, List<string> inputs, string output)
    {
        public string Name = name, Op = op, Output = output;
        public List<string> Inputs = inputs;
        public Dictionary<string, double> Settings = [];
        public Dictionary<string, (float[] Data, int[] Shape)> Weights = [];
    }

    private sealed class Builder(string path, GraphProto graph, OnnxImportOptions options)
    {
        private readonly string _folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        private readonly Dictionary<string, OnnxTensor> _constants = [];
        private readonly Dictionary<string, string> _alias = [];
        private readonly Dictionary<string, int[]> _shapes = [];       // per image, without the batch axis
        private readonly Dictionary<string, Draft> _producer = [];
        private readonly Dictionary<string, (string Input, int Pad)> _padded = [];
        // Integer vectors computed from shapes (x.view(x.size(0), -1) exports Shape → Gather → Unsqueeze → Concat → Reshape); null = the batch size.
        private readonly Dictionary<string, long?[]> _sizes = []; // Pad outputs: zero padding the next Conv/AveragePool takes over
        private readonly Dictionary<string, int> _consumers = [];
        private readonly List<Draft> _drafts = [];
        private readonly HashSet<string> _names = [];
        public List<string> Notes { get; } = [];

        private NodeProto _node = null!;

        public (GraphSpec, Dictionary<string, Tensor>, int) Build()
        {
            foreach (var t in graph.Initializer) _constants[t.Name] = OnnxFile.Decode(t, _folder, path);
            foreach (var n in graph.Node)
                foreach (var i in n.Input) _consumers[i] = _consumers.GetValueOrDefault(i) + 1;
            foreach (var o in graph.Output) _consumers[o.Name] = _consumers.GetValueOrDefault(o.Name) + 1;

            var inputs = graph.Input.Where(i => !_constants.ContainsKey(i.Name)).ToList();
            if (inputs.Count != 1)
                throw new InvalidDataException($"{path}: the graph has {inputs.Count} data inputs ({string.Join(", ", inputs.Select(i => i.Name))}); the importer reads networks of one image input [N, C, H, W].");
            var input = inputs[0];
            var dims = input.Type?.TensorType?.Shape?.Dim.ToList();
            if (input.Type?.TensorType is not { } tensorType || tensorType.ElemType != (int)TensorProto.Types.DataType.Float
                || dims is not { Count: 4 } || dims.Skip(1).Any(d => !d.HasDimValue || d.DimValue < 1))
                throw new InvalidDataException($"{path}: the input '{input.Name}' must be a float tensor [N, C, H, W] with known C, H and W.");
            var inputShape = dims.Skip(1).Select(d => (int)d.DimValue).ToArray();
            _shapes[input.Name] = inputShape;

            foreach (var node in graph.Node)
            {
                _node = node;
                if (node.Domain is not ("" or "ai.onnx"))
                    throw Unsupported($"the operator domain '{node.Domain}' is not supported (only the default ONNX domain)");
                Handle(node);
            }

            if (graph.Output.Count != 1)
                throw new InvalidDataException($"{path}: the graph has {graph.Output.Count} outputs; the importer reads networks with one output (the logits).");
            string output = Resolve(graph.Output[0].Name);
            if (!_shapes.TryGetValue(output, out var outShape) || outShape.Length != 1)
                throw new InvalidDataException($"{path}: the output '{graph.Output[0].Name}' must be logits [N, classes], found [N, {string.Join(", ", outShape ?? [])}].");

            var nodes = new List<GraphNode>();
            var weights = new Dictionary<string, Tensor>();
            foreach (var d in _drafts)
            {
                nodes.Add(new GraphNode(d.Name, d.Op, d.Inputs, d.Output, d.Settings));
                foreach (var (key, (data, shape)) in d.Weights)
                    weights[$"{d.Name}.{key}"] = Tensor.FromArray(data, new Shape(shape));
            }
            return (new GraphSpec(input.Name, inputShape, output, nodes), weights, outShape[0]);
        }

        private void Handle(NodeProto n)
        {
            switch (n.OpType)
            {
                case "Conv": Conv(n); break;
                case "BatchNormalization": BatchNorm(n); break;
                case "Relu": Allow(n); Add(n, GraphOps.Relu, [Value(n.Input[0])], Shape(n.Input[0])); break;
                case "Clip": Clip(n); break;
                case "AveragePool": Pool(n, max: false); break;
                case "MaxPool": Pool(n, max: true); break;
                case "GlobalAveragePool":
                {
                    Allow(n);
                    var s = Rank(n.Input[0], 3);
                    Add(n, GraphOps.GlobalAvgPool, [Value(n.Input[0])], [s[0], 1, 1]);
                    break;
                }
                case "Gemm": Gemm(n); break;
                case "MatMul": MatMul(n); break;
                case "Add": AddNode(n); break;
                case "Concat" when n.Input.Any(i => _sizes.ContainsKey(i) || _constants.ContainsKey(i)): SizeConcat(n); break;
                case "Concat": Concat(n); break;
                case "Shape": ShapeOf(n); break;
                case "Gather": Gather(n); break;
                case "Unsqueeze": Unsqueeze(n); break;
                case "Flatten":
                {
                    Allow(n, "axis");
                    if (Int(n, "axis", 1) != 1) throw Unsupported($"axis {Int(n, "axis", 1)} (only axis 1: [N, C, …] → [N, C·…])");
                    Flatten(n);
                    break;
                }
                case "Reshape": Reshape(n); break;
                case "Pad": Pad(n); break;
                case "Dropout":
                    Allow(n, "seed", "ratio");
                    if (n.Output.Count > 1 && n.Output[1].Length > 0 && _consumers.GetValueOrDefault(n.Output[1]) > 0)
                        throw Unsupported("its mask output is used");
                    _alias[n.Output[0]] = Value(n.Input[0]);
                    break;
                case "Identity":
                    Allow(n);
                    if (_constants.TryGetValue(n.Input[0], out var c)) _constants[n.Output[0]] = c with { Name = n.Output[0] };
                    else _alias[n.Output[0]] = Value(n.Input[0]);
                    break;
                case "Constant":
                {
                    Allow(n, "value");
                    var value = Attribute(n, "value") ?? throw Unsupported("only the 'value' attribute (a tensor) is supported");
                    _constants[n.Output[0]] = OnnxFile.Decode(value.T, _folder, path) with { Name = n.Output[0] };
                    break;
                }
                default:
                    throw new InvalidDataException($"{path}: node '{n.Name}' has op type {n.OpType}, which the importer does not support. Supported: {Supported}.");
            }
        }

        // ---------------------------------------------------------------- ops
        private void Conv(NodeProto n)
        {
            Allow(n, "kernel_shape", "strides", "pads", "dilations", "group", "auto_pad");
            var x = Rank(n.Input[0], 3);
            var w = Constant(n, 1, "weight");
            if (w.Dims.Length != 4) throw Unsupported($"its weight is {w.ShapeText}; a 2-D convolution needs [out, in, k, k]");
            if (Int(n, "group", 1) != 1) throw Unsupported($"group {Int(n, "group", 1)} (grouped and depthwise convolutions are not supported)");
            if (Ints(n, "dilations").Any(d => d != 1)) throw Unsupported($"dilations [{string.Join(", ", Ints(n, "dilations"))}] (only 1)");
            int k = Square(n, Ints(n, "kernel_shape") is { Length: > 0 } ks ? ks : [w.Dims[2], w.Dims[3]], "kernel_shape");
            if (w.Dims[2] != k || w.Dims[3] != k) throw Unsupported($"kernel_shape {k} does not match the weight {w.ShapeText}");
            int stride = Square(n, Ints(n, "strides") is { Length: > 0 } st ? st : [1, 1], "strides");
            var (input, before) = PaddedInput(n);
            int pad = Padding(n);
            if (w.Dims[1] != x[0]) throw Unsupported($"the weight {w.ShapeText} expects {w.Dims[1]} input channels but the input has {x[0]}");
            int outC = (int)w.Dims[0];
            var d = Add(n, GraphOps.Conv, [input], [outC, Out(x[1], k, stride, pad), Out(x[2], k, stride, pad)]);
            d.Settings["in"] = x[0]; d.Settings["out"] = outC; d.Settings["kernel"] = k; d.Settings["stride"] = stride; d.Settings["padding"] = pad + before;
            d.Weights["weight"] = (w.Floats!, Dims(w));
            bool bias = n.Input.Count > 2 && n.Input[2].Length > 0;
            d.Settings["bias"] = bias ? 1 : 0;
            if (bias) d.Weights["bias"] = (Vector(n, 2, "bias", outC), [outC]);
        }

        private void BatchNorm(NodeProto n)
        {
            Allow(n, "epsilon", "momentum", "training_mode");
            if (Int(n, "training_mode", 0) != 0) throw Unsupported("training_mode 1 (export the model in eval mode)");
            var x = Rank(n.Input[0], 3);
            int c = x[0];
            float eps = Float(n, "epsilon", 1e-5f);
            string[] keys = ["weight", "bias", "running_mean", "running_var"];
            var values = keys.Select((key, i) => Vector(n, i + 1, key, c)).ToArray();
            string input = Value(n.Input[0]);
            // A BatchNorm right after a convolution (its only use) joins it: the pair is what conversion folds.
            if (_producer.TryGetValue(input, out var conv) && conv.Op == GraphOps.Conv && conv.Settings.GetValueOrDefault("batchnorm") == 0
                && _consumers.GetValueOrDefault(n.Input[0]) == 1)
            {
                conv.Settings["batchnorm"] = 1; conv.Settings["eps"] = eps;
                conv.Weights = conv.Weights.ToDictionary(kv => "0." + kv.Key, kv => kv.Value);
                for (int i = 0; i < 4; i++) conv.Weights["1." + keys[i]] = (values[i], [c]);
                conv.Weights["1.num_batches_tracked"] = ([0f], []);
                Rename(conv, n.Output[0]);
                return;
            }
            var d = Add(n, GraphOps.BatchNorm, [input], x);
            d.Settings["channels"] = c; d.Settings["eps"] = eps;
            for (int i = 0; i < 4; i++) d.Weights[keys[i]] = (values[i], [c]);
            d.Weights["num_batches_tracked"] = ([0f], []);
        }

        private void Clip(NodeProto n)
        {
            Allow(n, "min", "max");
            float? min = Attribute(n, "min") is { } a ? a.F : n.Input.Count > 1 && n.Input[1].Length > 0 ? Scalar(n, 1, "min") : null;
            float? max = Attribute(n, "max") is { } b ? b.F : n.Input.Count > 2 && n.Input[2].Length > 0 ? Scalar(n, 2, "max") : null;
            if (min != 0f) throw Unsupported($"min {(min is null ? "absent" : min.Value.ToString(CultureInfo.InvariantCulture))} (only Clip(0, max), a ReLU with an optional ceiling)");
            if (max is <= 0f) throw Unsupported($"max {max} (must be positive)");
            // Relu then Clip(0, m) (how PyTorch 1.13 writes ReLU6) is one unit: one threshold, one IF layer after conversion.
            string input = Value(n.Input[0]);
            if (_producer.TryGetValue(input, out var relu) && relu.Op == GraphOps.Relu && !relu.Settings.ContainsKey("max")
                && _consumers.GetValueOrDefault(n.Input[0]) == 1)
            {
                if (max is { } top && float.IsFinite(top)) relu.Settings["max"] = top;
                Rename(relu, n.Output[0]);
                return;
            }
            var d = Add(n, GraphOps.Relu, [input], Shape(n.Input[0]));
            if (max is { } m && float.IsFinite(m)) d.Settings["max"] = m;
        }

        private void Pool(NodeProto n, bool max)
        {
            Allow(n, "kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad", "dilations", "storage_order");
            if (max && !options.MaxPoolToAvgPool)
                throw Unsupported("max pooling cannot be converted to spikes (conversion needs average pooling). Pass --maxpool_to_avgpool " +
                                  "(OnnxImportOptions.MaxPoolToAvgPool) to replace it by average pooling of the same window; the ANN accuracy after the swap is reported");
            if (max && n.Output.Count > 1 && n.Output[1].Length > 0 && _consumers.GetValueOrDefault(n.Output[1]) > 0)
                throw Unsupported("its indices output is used");
            var x = Rank(n.Input[0], 3);
            int k = Square(n, Ints(n, "kernel_shape"), "kernel_shape");
            int stride = Square(n, Ints(n, "strides") is { Length: > 0 } st ? st : [1, 1], "strides");
            var (input, before) = PaddedInput(n);
            int pad = Padding(n);
            if (before > 0 && pad > 0) throw Unsupported("a Pad before a pooling that pads itself");
            if (Int(n, "ceil_mode", 0) != 0) throw Unsupported("ceil_mode 1 (only 0, floor)");
            if (Ints(n, "dilations").Any(d => d != 1)) throw Unsupported("dilations other than 1");
            if (!max && pad > 0 && Int(n, "count_include_pad", 0) == 0)
                throw Unsupported($"padding {pad} with count_include_pad 0 (the engine's average pooling counts the padding, as PyTorch's default)");
            if (max) Notes.Add($"node '{n.Name}': MaxPool {k}×{k} stride {stride} replaced by AveragePool" + (pad > 0 ? " (padding counted in the average)" : ""));
            var d = Add(n, GraphOps.AvgPool, [input], [x[0], Out(x[1], k, stride, pad), Out(x[2], k, stride, pad)]);
            d.Settings["kernel"] = k; d.Settings["stride"] = stride; d.Settings["padding"] = pad + before;
        }

        private void Gemm(NodeProto n)
        {
            Allow(n, "alpha", "beta", "transA", "transB");
            if (Int(n, "transA", 0) != 0) throw Unsupported("transA 1 (only the input as [N, features])");
            var x = Rank(n.Input[0], 1);
            var b = Constant(n, 1, "B");
            if (b.Dims.Length != 2) throw Unsupported($"B is {b.ShapeText}; expected a matrix");
            bool transB = Int(n, "transB", 0) != 0;
            int inF = (int)(transB ? b.Dims[1] : b.Dims[0]), outF = (int)(transB ? b.Dims[0] : b.Dims[1]);
            if (inF != x[0]) throw Unsupported($"B {b.ShapeText} (transB {(transB ? 1 : 0)}) expects {inF} features but the input has {x[0]}");
            float alpha = Float(n, "alpha", 1f), beta = Float(n, "beta", 1f);
            var weight = transB ? b.Floats!.ToArray() : Transpose(b.Floats!, inF, outF);
            for (int i = 0; i < weight.Length; i++) weight[i] *= alpha;
            bool bias = n.Input.Count > 2 && n.Input[2].Length > 0;
            var d = Linear(n, inF, outF, weight);
            if (bias)
            {
                var c = Vector(n, 2, "C", outF);
                d.Weights["bias"] = (c.Select(v => v * beta).ToArray(), [outF]);
                d.Settings["bias"] = 1;
            }
        }

        private void MatMul(NodeProto n)
        {
            Allow(n);
            var x = Rank(n.Input[0], 1);
            var b = Constant(n, 1, "B");
            if (b.Dims.Length != 2 || b.Dims[0] != x[0])
                throw Unsupported($"B is {b.ShapeText}; the input [N, {x[0]}] needs a constant matrix [{x[0]}, out]");
            int outF = (int)b.Dims[1];
            Linear(n, x[0], outF, Transpose(b.Floats!, x[0], outF));
        }

        private Draft Linear(NodeProto n, int inF, int outF, float[] weight)
        {
            var d = Add(n, GraphOps.Linear, [Value(n.Input[0])], [outF]);
            d.Settings["in"] = inF; d.Settings["out"] = outF; d.Settings["bias"] = 0;
            d.Weights["weight"] = (weight, [outF, inF]);
            return d;
        }

        private void AddNode(NodeProto n)
        {
            Allow(n);
            bool constA = _constants.ContainsKey(n.Input[0]), constB = _constants.ContainsKey(n.Input[1]);
            if (!constA && !constB)
            {
                var a = Shape(n.Input[0]);
                var b = Shape(n.Input[1]);
                if (!a.SequenceEqual(b)) throw Unsupported($"it adds [N, {string.Join(", ", a)}] and [N, {string.Join(", ", b)}] (broadcasting is not supported)");
                Add(n, GraphOps.Add, [Value(n.Input[0]), Value(n.Input[1])], a);
                return;
            }
            // A constant added to a MatMul's output (its only use) is that layer's bias.
            int vi = constA ? 1 : 0;
            string input = Value(n.Input[vi]);
            if (constA && constB || !_producer.TryGetValue(input, out var linear) || linear.Op != GraphOps.Linear
                || linear.Settings["bias"] != 0 || _consumers.GetValueOrDefault(n.Input[vi]) != 1)
                throw Unsupported("adding a constant is supported only as the bias right after a MatMul");
            int outF = (int)linear.Settings["out"];
            linear.Weights["bias"] = (Vector(n, 1 - vi, "bias", outF), [outF]);
            linear.Settings["bias"] = 1;
            Rename(linear, n.Output[0]);
        }

        private void Concat(NodeProto n)
        {
            Allow(n, "axis");
            var first = Shape(n.Input[0]);
            long axis = Int(n, "axis", 1);
            if (axis < 0) axis += first.Length + 1;
            if (axis != 1) throw Unsupported($"axis {Int(n, "axis", 1)} (only axis 1, the channels)");
            var inputs = n.Input.Select(Value).ToList();
            var shapes = n.Input.Select(Shape).ToList();
            if (shapes.Any(s => s.Length != first.Length || !s.Skip(1).SequenceEqual(first.Skip(1))))
                throw Unsupported($"the inputs {string.Join(", ", shapes.Select(s => "[N, " + string.Join(", ", s) + "]"))} differ outside axis 1");
            var shape = first.ToArray();
            shape[0] = shapes.Sum(s => s[0]);
            Add(n, GraphOps.Concat, inputs, shape);
        }

        private void Reshape(NodeProto n)
        {
            Allow(n, "allowzero");
            var x = Shape(n.Input[0]);
            int features = x.Aggregate(1, (a, b) => a * b);
            long?[] t = _sizes.TryGetValue(n.Input[1], out var computed) ? computed
                : (Constant(n, 1, "shape").Integers ?? throw Unsupported("its shape is not an integer tensor")).Select(v => (long?)v).ToArray();
            // [batch or 0 or -1 or a fixed N, -1 or C·H·W]: a flatten (null = the batch size read from the input's shape)
            bool flatten = t.Length == 2 && Int(n, "allowzero", 0) == 0
                && (t[0] is null or 0 or -1 || t[0] > 0) && (t[1] == -1 && t[0] != -1 || t[1] == features);
            if (!flatten)
                throw Unsupported($"target shape [{string.Join(", ", t.Select(v => v?.ToString() ?? "N"))}] for an input [N, {string.Join(", ", x)}] (only flattening to [N, {features}] is supported)".Replace("[, ", "[N, "));
            Flatten(n);
        }

        /// <summary>
        /// Zero padding of H and W (PyTorch 1.13 writes one before an AveragePool): the Conv or AveragePool that reads it
        /// pads instead. All-zero pads are dropped.
        /// </summary>
        private void Pad(NodeProto n)
        {
            Allow(n, "mode");
            var mode = Attribute(n, "mode")?.S.ToStringUtf8() ?? "constant";
            if (mode != "constant") throw Unsupported($"mode '{mode}' (only constant zero padding)");
            if (n.Input.Count > 2 && n.Input[2].Length > 0 && Scalar(n, 2, "constant_value") != 0f) throw Unsupported("a non-zero constant_value");
            if (n.Input.Count > 3 && n.Input[3].Length > 0) throw Unsupported("the axes input");
            var x = Rank(n.Input[0], 3);
            var pads = Constant(n, 1, "pads").Integers ?? throw Unsupported("its pads are not integers");
            if (pads.All(p => p == 0)) { _alias[n.Output[0]] = Value(n.Input[0]); return; }
            // [N, C, H, W] begins then ends: only H and W, the same amount on every side.
            if (pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0
                || pads[2] != pads[3] || pads[2] != pads[6] || pads[2] != pads[7] || pads[2] < 0)
                throw Unsupported($"pads [{string.Join(", ", pads)}] (only the same zero padding on every side of H and W)");
            int p = (int)pads[2];
            _padded[n.Output[0]] = (Value(n.Input[0]), p);
            _shapes[n.Output[0]] = [x[0], x[1] + 2 * p, x[2] + 2 * p];
        }

        /// <summary>Shape(x): [N, C, H, W] with N unknown (the batch); start/end (opset 15) slice it.</summary>
        private void ShapeOf(NodeProto n)
        {
            Allow(n, "start", "end");
            var dims = new long?[] { null }.Concat(Shape(n.Input[0]).Select(d => (long?)d)).ToArray();
            int rank = dims.Length;
            long start = Int(n, "start", 0), end = Int(n, "end", rank);
            start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
            end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
            _sizes[n.Output[0]] = dims[(int)start..(int)Math.Max(start, end)];
        }

        /// <summary>Gather on axis 0 of a shape vector with constant indices.</summary>
        private void Gather(NodeProto n)
        {
            Allow(n, "axis");
            if (!_sizes.TryGetValue(n.Input[0], out var data)) throw Unsupported("Gather is supported only on a shape (as in x.view(x.size(0), -1))");
            if (Int(n, "axis", 0) != 0) throw Unsupported("axis other than 0");
            var indices = Constant(n, 1, "indices");
            var picked = (indices.Integers ?? throw Unsupported("its indices are not integers"))
                .Select(i => i < 0 ? i + data.Length : i)
                .Select(i => i >= 0 && i < data.Length ? data[i] : throw Unsupported($"index {i} outside the shape's {data.Length} entries")).ToArray();
            _sizes[n.Output[0]] = picked; // a scalar index gives a one-entry vector; Unsqueeze keeps it
        }

        private void Unsqueeze(NodeProto n)
        {
            Allow(n, "axes");
            if (!_sizes.TryGetValue(n.Input[0], out var data) || data.Length != 1)
                throw Unsupported("Unsqueeze is supported only on one entry of a shape (as in x.view(x.size(0), -1))");
            _sizes[n.Output[0]] = data;
        }

        /// <summary>Concat of shape entries and integer constants: the target of a Reshape.</summary>
        private void SizeConcat(NodeProto n)
        {
            Allow(n, "axis");
            var parts = new List<long?>();
            foreach (var input in n.Input)
            {
                if (_sizes.TryGetValue(input, out var v)) parts.AddRange(v);
                else if (_constants.TryGetValue(input, out var c) && c.Integers is { } ints) parts.AddRange(ints.Select(i => (long?)i));
                else throw Unsupported($"its input '{input}' mixes layer outputs with shape entries");
            }
            _sizes[n.Output[0]] = [.. parts];
        }

        /// <summary>The node's data input and the padding a Pad before it adds (0 when none).</summary>
        private (string Input, int Pad) PaddedInput(NodeProto n)
        {
            if (_padded.TryGetValue(n.Input[0], out var padded)) return padded;
            return (Value(n.Input[0]), 0);
        }

        private void Flatten(NodeProto n)
        {
            var x = Shape(n.Input[0]);
            if (x.Length == 1) { _alias[n.Output[0]] = Value(n.Input[0]); return; }
            Add(n, GraphOps.Flatten, [Value(n.Input[0])], [x.Aggregate(1, (a, b) => a * b)]);
        }

        // ---------------------------------------------------------------- helpers
        private Draft Add(NodeProto n, string op, List<string> inputs, int[] shape)
        {
            if (shape.Any(s => s < 1)) throw Unsupported($"its output would be [N, {string.Join(", ", shape)}] (the input is too small for it)");
            var d = new Draft(UniqueName(n), op, inputs, n.Output[0]);
            _drafts.Add(d);
            _producer[d.Output] = d;
            _shapes[d.Output] = shape;
            return d;
        }

        /// <summary>The draft now produces <paramref name="output"/> (a merged BatchNorm's or bias Add's output).</summary>
        private void Rename(Draft d, string output)
        {
            _producer.Remove(d.Output);
            _shapes[output] = _shapes[d.Output];
            _shapes.Remove(d.Output);
            d.Output = output;
            _producer[output] = d;
        }

        /// <summary>A child-module name from the node's name: no dots (state_dict separators), unique.</summary>
        private string UniqueName(NodeProto n)
        {
            var raw = n.Name.Trim('/').Replace('/', '_').Replace('.', '_').Replace(':', '_');
            var name = raw.Length == 0 ? $"{n.OpType}_{_drafts.Count}" : raw;
            for (int i = 1; !_names.Add(name); i++) name = $"{raw}_{i}";
            return name;
        }

        private string Resolve(string name)
        {
            while (_alias.TryGetValue(name, out var target)) name = target;
            return name;
        }

        /// <summary>A layer output (or the image input) as the node's input: not a constant, already computed.</summary>
        private string Value(string name)
        {
            if (_constants.ContainsKey(name)) throw Unsupported($"its input '{name}' is a constant where a layer output is expected");
            if (_padded.ContainsKey(name)) throw Unsupported($"its input '{name}' comes from a Pad (supported only right before Conv or AveragePool)");
            var resolved = Resolve(name);
            if (!_shapes.ContainsKey(resolved)) throw Unsupported($"its input '{name}' is not computed by an earlier node (the graph must be topologically sorted)");
            return resolved;
        }

        private int[] Shape(string name) => _padded.ContainsKey(name) ? _shapes[name] : _shapes[Value(name)];

        private int[] Rank(string name, int rank)
        {
            var s = Shape(name);
            if (s.Length != rank)
                throw Unsupported($"its input is [N, {string.Join(", ", s)}]; it needs {(rank == 3 ? "[N, C, H, W]" : "[N, features]")}");
            return s;
        }

        private OnnxTensor Constant(NodeProto n, int index, string what)
        {
            if (n.Input.Count <= index || n.Input[index].Length == 0) throw Unsupported($"its {what} is missing");
            return _constants.TryGetValue(n.Input[index], out var t) ? t
                : throw Unsupported($"its {what} '{n.Input[index]}' is computed at run time; the importer needs it as an initialiser or constant");
        }

        private float[] Vector(NodeProto n, int index, string what, int length)
        {
            var t = Constant(n, index, what);
            if (t.Floats is null || t.Count != length || t.Dims.Count(d => d != 1) > 1)
                throw Unsupported($"its {what} is {t.ShapeText}; expected {length} floating-point values");
            return t.Floats;
        }

        private float Scalar(NodeProto n, int index, string what)
        {
            var t = Constant(n, index, what);
            if (t.Count != 1) throw Unsupported($"its {what} is {t.ShapeText}; expected a scalar");
            return t.Floats is { } f ? f[0] : t.Integers![0];
        }

        private static int[] Dims(OnnxTensor t) => t.Dims.Select(d => (int)d).ToArray();

        private static float[] Transpose(float[] m, int rows, int cols)
        {
            var t = new float[m.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
            return t;
        }

        private static int Out(int size, int k, int stride, int pad) => (size + 2 * pad - k) / stride + 1;

        private int Square(NodeProto n, long[] values, string what)
        {
            if (values.Length != 2 || values[0] != values[1] || values[0] < 1)
                throw Unsupported($"{what} [{string.Join(", ", values)}] (only equal height and width)");
            return (int)values[0];
        }

        private int Padding(NodeProto n)
        {
            var autoPad = Attribute(n, "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
            var pads = Ints(n, "pads");
            if (autoPad is not ("NOTSET" or "" or "VALID")) throw Unsupported($"auto_pad {autoPad} (only explicit pads)");
            if (pads.Length == 0) return 0;
            if (pads.Length != 4 || pads.Any(p => p != pads[0]) || pads[0] < 0)
                throw Unsupported($"pads [{string.Join(", ", pads)}] (only the same padding on every side)");
            return (int)pads[0];
        }

        private static AttributeProto? Attribute(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name);

        private static long Int(NodeProto n, string name, long fallback) => Attribute(n, name) is { } a ? a.I : fallback;

        private static float Float(NodeProto n, string name, float fallback) => Attribute(n, name) is { } a ? a.F : fallback;

        private static long[] Ints(NodeProto n, string name) => Attribute(n, name)?.Ints.ToArray() ?? [];

        /// <summary>Refuses attributes other than <paramref name="allowed"/>.</summary>
        private void Allow(NodeProto n, params string[] allowed)
        {
            foreach (var a in n.Attribute)
                if (!allowed.Contains(a.Name))
                    throw Unsupported($"the attribute '{a.Name}' is not supported" + (allowed.Length > 0 ? $" (supported: {string.Join(", ", allowed)})" : ""));
        }

        private InvalidDataException Unsupported(string what) =>
            new($"{path}: node '{_node.Name}' ({_node.OpType}): {what}. Supported: {Supported}.");
    }
}
