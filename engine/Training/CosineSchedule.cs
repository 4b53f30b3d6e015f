namespace SpikeEngine.Training;

/// <summary>
/// Cosine annealing stepped once per epoch, as PyTorch's CosineAnnealingLR(T_max = epochs):
/// lr(e) = min + (base − min)·(1 + cos(π·e / T_max)) / 2 for epoch index e = 0, 1, ….
/// </summary>
public sealed class CosineSchedule(float baseLr, int totalEpochs, float minLr = 0f)
{
    public float BaseLr { get; } = baseLr;
    public int TotalEpochs { get; } = totalEpochs >= 1 ? totalEpochs
        : throw new ArgumentException($"Cosine schedule: T_max must be at least 1 epoch, got {totalEpochs}.");
    public float MinLr { get; } = minLr;

    public float LearningRate(int epoch) =>
        (float)(MinLr + (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * epoch / TotalEpochs)) / 2);
}
