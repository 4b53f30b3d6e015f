using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// ReLU, or ONNX Clip(0, <see cref="Max"/>) (ReLU6 and friends), as imported networks use it. Conversion needs a
/// threshold λ per unit: Calibration.ThresholdCalibration replaces each of these by a QCFS unit (METHOD.md §1).
/// </summary>
public sealed class Relu(float max = float.PositiveInfinity) : Module
{
    /// <summary>The upper clip (+∞ for a plain ReLU).</summary>
    public float Max { get; } = max > 0 ? max : throw new ArgumentException($"Relu: the upper clip must be positive, got {max}.");

    public override Tensor Forward(Tensor x) => F.Clamp(x, 0f, Max, Describe());

    public override string Describe() => float.IsPositiveInfinity(Max) ? "Relu()" : $"Clip(0, {Max:G6})";
}
