namespace SpikeEngine.Training;

/// <summary>
/// Cosine annealing stepped once per epoch, as PyTorch's CosineAnnealingLR(T_max = epochs):
/// lr(e) = min + (base − min)·(1 + cos(π·e / T_max)) / 2 for epoch index e = 0, 1, ….
/// </summary>
public sealed class CosineSchedule
{
    public CosineSchedule(float baseLr, int totalEpochs, float minLr = 0f)
    {
        if (totalEpochs < 1) throw new ArgumentException($"Cosine schedule: T_max must be at least 1 epoch, got {totalEpochs}.");
        BaseLr = baseLr;
        TotalEpochs = totalEpochs;
        MinLr = minLr;
    }

    public float BaseLr { get; }
    public int TotalEpochs { get; }
    public float MinLr { get; }

    public float LearningRate(int epoch) =>
        (float)(MinLr + (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * epoch / TotalEpochs)) / 2);
}
