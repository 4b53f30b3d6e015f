namespace SpikeEngine.Data;

/// <summary>
/// A transform of one normalised sample (CHW floats) applied by the loader after normalisation.
/// Randomness comes only from the given generator (the loader's per-sample generator, continued
/// after the 8-bit transforms).
/// </summary>
public interface ITensorTransform
{
    void Apply(Span<float> sample, int channels, int height, int width, Random rng);
}

/// <summary>
/// Cutout (DeVries &amp; Taylor 2017) as the QCFS/COS reference applies it: after ToTensor and Normalize,
/// on the float tensor, so the hole holds normalised zeros (the channel mean), not black pixels.
/// Per hole: centre y uniform in [0,H), x uniform in [0,W); the hole is
/// [clip(y−L/2), clip(y+L/2)) × [clip(x−L/2), clip(x+L/2)) with L/2 = length // 2 (so it is cut at the borders).
/// </summary>
public sealed class Cutout(int length, int holes = 1) : ITensorTransform
{
    public int Length { get; } = length > 0 ? length : throw new ArgumentException($"Cutout length must be positive (got {length}).");
    public int Holes { get; } = holes;

    public void Apply(Span<float> sample, int channels, int height, int width, Random rng)
    {
        if (sample.Length != channels * height * width)
            throw new ArgumentException($"Cutout: sample holds {sample.Length} floats, {channels}x{height}x{width} expected.");
        for (int n = 0; n < Holes; n++)
        {
            var (y1, y2, x1, x2) = SampleHole(height, width, rng);
            for (int c = 0; c < channels; c++)
                for (int y = y1; y < y2; y++)
                    sample.Slice((c * height + y) * width + x1, x2 - x1).Clear();
        }
    }

    /// <summary>The hole's rows [y1,y2) and columns [x1,x2); draws y then x.</summary>
    public (int y1, int y2, int x1, int x2) SampleHole(int height, int width, Random rng)
    {
        int y = rng.Next(height), x = rng.Next(width);
        int half = Length / 2;
        return (Math.Clamp(y - half, 0, height), Math.Clamp(y + half, 0, height),
                Math.Clamp(x - half, 0, width), Math.Clamp(x + half, 0, width));
    }
}
