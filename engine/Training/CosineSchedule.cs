namespace SpikeEngine.Training;

/// <summary>
/// Cosine annealing stepped once per epoch, as PyTorch's CosineAnnealingLR(T_max = epochs):
/// lr(e) = min + (base − min)·(1 + cos(π·e / T_max)) / 2 for epoch index e = 0, 1, ….
/// With <see cref="WarmupEpochs"/> W &gt; 0 the first W epochs raise the rate linearly per batch from base/(W·batches)
/// to base (a short warm-up keeps large rates from wrecking the fresh BatchNorm statistics), and the cosine then runs
/// over the remaining epochs: lr(e) = min + (base − min)·(1 + cos(π·(e − W) / (epochs − W))) / 2. W = 0 is the reference.
/// The rate is a pure function of (epoch, batch), so a resumed run continues on the same curve.
/// </summary>
public sealed class CosineSchedule
{
    public CosineSchedule(float baseLr, int totalEpochs, float minLr = 0f, int warmupEpochs = 0)
    {
        if (totalEpochs < 1) throw new ArgumentException($"Cosine schedule: T_max must be at least 1 epoch, got {totalEpochs}.");
        if (warmupEpochs < 0 || warmupEpochs >= totalEpochs)
            throw new ArgumentException($"Cosine schedule: the warm-up must be between 0 and {totalEpochs - 1} epochs (fewer than the {totalEpochs} epochs of training), got {warmupEpochs}.");
        (BaseLr, TotalEpochs, MinLr, WarmupEpochs) = (baseLr, totalEpochs, minLr, warmupEpochs);
    }

    public float BaseLr { get; }
    public int TotalEpochs { get; }
    public float MinLr { get; }
    public int WarmupEpochs { get; }

    /// <summary>The rate of epoch index <paramref name="epoch"/> (0-based) after its warm-up, i.e. at its end when warming up.</summary>
    public float LearningRate(int epoch) => LearningRate(epoch, 0, 1);

    /// <summary>The rate for batch <paramref name="batch"/> (0-based) of <paramref name="batches"/> in epoch <paramref name="epoch"/>.</summary>
    public float LearningRate(int epoch, int batch, int batches)
    {
        if (epoch < WarmupEpochs)
            return (float)(BaseLr * (epoch * (double)batches + Math.Min(batch + 1, batches)) / ((double)WarmupEpochs * batches));
        double phase = (double)(epoch - WarmupEpochs) / (TotalEpochs - WarmupEpochs);
        return (float)(MinLr + (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * phase)) / 2);
    }
}
