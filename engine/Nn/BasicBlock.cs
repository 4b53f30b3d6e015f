using SpikeEngine.Autograd;
using SpikeEngine.Tensors;

namespace SpikeEngine.Nn;

/// <summary>
/// The ResNet basic block of the reference: relu(residual_function(x) + shortcut(x)), with
/// residual_function = [Conv3×3(stride), BN, QCFS, Conv3×3, BN] (no conv bias), shortcut = [] or
/// [Conv1×1(stride), BN] when the shape changes, and relu a QCFS. Children are looked up by name at
/// forward time so conversion can replace them.
/// </summary>
public sealed class BasicBlock : Module
{
    public BasicBlock(int inChannels, int outChannels, int stride, int levels)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        RegisterChild("residual_function", new Sequential(
            new Conv2d(inChannels, outChannels, 3, stride, 1, bias: false),
            new BatchNorm2d(outChannels),
            new Qcfs(levels),
            new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false),
            new BatchNorm2d(outChannels)));
        RegisterChild("shortcut", stride != 1 || inChannels != outChannels
            ? new Sequential(new Conv2d(inChannels, outChannels, 1, stride, 0, bias: false), new BatchNorm2d(outChannels))
            : new Sequential());
        RegisterChild("relu", new Qcfs(levels));
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Stride { get; }

    public override Tensor Forward(Tensor x)
    {
        var residual = Child("residual_function").Forward(x);
        var shortcut = Child("shortcut").Forward(x);
        var sum = F.Add(residual, shortcut, $"BasicBlock({InChannels}, {OutChannels}, stride={Stride}) residual add");
        Intermediates.Release(residual, sum);
        if (shortcut != x) Intermediates.Release(shortcut, sum);
        var y = Child("relu").Forward(sum);
        Intermediates.Release(sum, y);
        return y;
    }

    public override string Describe() => $"BasicBlock({InChannels}, {OutChannels}, stride={Stride})";
}
