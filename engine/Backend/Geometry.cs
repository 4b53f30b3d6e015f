using SpikeEngine.Tensors;

namespace SpikeEngine.Backend;

/// <summary>The sizes of one 2-D convolution: input [N,C,H,W], weight [K,C,R,S], output [N,K,OutH,OutW].</summary>
public readonly record struct Conv2dGeometry(int N, int C, int H, int W, int K, int R, int S,
    int StrideH, int StrideW, int PadH, int PadW)
{
    public int OutH => (H + 2 * PadH - R) / StrideH + 1;
    public int OutW => (W + 2 * PadW - S) / StrideW + 1;
    public Shape InputShape => new(N, C, H, W);
    public Shape WeightShape => new(K, C, R, S);
    public Shape OutputShape => new(N, K, OutH, OutW);
    /// <summary>Multiply-accumulates of one forward pass.</summary>
    public long Macs => (long)N * K * OutH * OutW * C * R * S;

    /// <summary>Validates the input and weight shapes and builds the geometry; errors name the layer.</summary>
    public static Conv2dGeometry Create(Shape input, Shape weight, int strideH, int strideW, int padH, int padW, string layer = "conv2d")
    {
        if (input.Rank != 4) throw new ArgumentException($"{layer}: input must be [N, C, H, W], got {input}.");
        if (weight.Rank != 4) throw new ArgumentException($"{layer}: weight must be [K, C, R, S], got {weight}.");
        if (input[1] != weight[1]) throw new ArgumentException($"{layer}: input has {input[1]} channels but the weight {weight} expects {weight[1]}.");
        if (strideH < 1 || strideW < 1 || padH < 0 || padW < 0) throw new ArgumentException($"{layer}: stride must be >= 1 and padding >= 0.");
        var g = new Conv2dGeometry(input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], strideH, strideW, padH, padW);
        if (input[2] + 2 * padH < weight[2] || input[3] + 2 * padW < weight[3])
            throw new ArgumentException($"{layer}: kernel {weight[2]}x{weight[3]} is larger than the padded input {input[2] + 2 * padH}x{input[3] + 2 * padW}.");
        return g;
    }
}

/// <summary>The sizes of one 2-D pooling: input [N,C,H,W], output [N,C,OutH,OutW]. Average pooling counts padding as PyTorch's default (count_include_pad).</summary>
public readonly record struct Pool2dGeometry(int N, int C, int H, int W, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadH, int PadW)
{
    public int OutH => (H + 2 * PadH - KernelH) / StrideH + 1;
    public int OutW => (W + 2 * PadW - KernelW) / StrideW + 1;
    public Shape InputShape => new(N, C, H, W);
    public Shape OutputShape => new(N, C, OutH, OutW);

    public static Pool2dGeometry Create(Shape input, int kernel, int stride, int padding, string layer = "avgpool2d")
    {
        if (input.Rank != 4) throw new ArgumentException($"{layer}: input must be [N, C, H, W], got {input}.");
        if (kernel < 1 || stride < 1 || padding < 0 || padding * 2 > kernel)
            throw new ArgumentException($"{layer}: kernel {kernel}, stride {stride}, padding {padding} are invalid (padding must be at most half the kernel).");
        if (input[2] + 2 * padding < kernel || input[3] + 2 * padding < kernel)
            throw new ArgumentException($"{layer}: kernel {kernel} is larger than the padded input {input[2]}x{input[3]}.");
        return new Pool2dGeometry(input[0], input[1], input[2], input[3], kernel, kernel, stride, stride, padding, padding);
    }
}
