using System.Collections.Concurrent;
using SpikeEngine.Tensors;

namespace SpikeEngine.Data;

/// <summary>
/// Batches a dataset: optional shuffling (seeded, reshuffled each epoch), an optional augmentation
/// transform, normalisation, and background preparation with a bounded number of batches in flight.
/// The last partial batch is kept unless <see cref="DropLast"/>.
/// Batches must be disposed by the consumer (their buffers are pooled).
/// </summary>
public sealed class DataLoader(IImageDataset dataset, int batchSize, Normalization normalization,
    bool shuffle = false, int seed = 0, IImageTransform? transform = null)
{
    public IImageDataset Dataset { get; } = Validated(dataset, batchSize);
    public int BatchSize { get; } = batchSize;
    public Normalization Normalization { get; } = normalization;
    public bool Shuffle { get; } = shuffle;
    public int Seed { get; } = seed;
    public IImageTransform? Transform { get; } = transform;

    private static IImageDataset Validated(IImageDataset dataset, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentException($"Batch size must be at least 1 (got {batchSize}).");
        if (dataset.Count == 0) throw new ArgumentException($"Dataset {dataset.Name} is empty.");
        return dataset;
    }
    /// <summary>Applied to each normalised sample (e.g. Cutout, which the reference applies after Normalize).</summary>
    public ITensorTransform? TensorTransform { get; init; }
    public bool DropLast { get; init; }
    /// <summary>Batches prepared ahead of the consumer.</summary>
    public int Prefetch { get; init; } = 2;
    /// <summary>Threads preparing the samples of one batch.</summary>
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>This rank's part of every epoch's order (data-parallel runs); null: the whole order.</summary>
    public Distributed.DataShard? Shard { get; init; }

    /// <summary>Images per epoch for this loader (its shard's share when sharded).</summary>
    public int SampleCount => Shard?.Count(Dataset.Count, BatchSize) ?? Dataset.Count;

    public int BatchCount => DropLast ? SampleCount / BatchSize : (SampleCount + BatchSize - 1) / BatchSize;

    /// <summary>
    /// The seed of one random stream: the epoch's shuffle (index −1) or one sample's augmentation.
    /// A fixed SplitMix64 mix, so results repeat across processes (HashCode.Combine is randomised per process).
    /// </summary>
    public static int DeriveSeed(int seed, int epoch, int index)
    {
        static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        ulong h = Mix((uint)seed);
        h = Mix(h ^ (uint)epoch);
        h = Mix(h ^ (uint)index);
        return (int)(h >> 33);
    }

    /// <summary>The sample order of an epoch (identity when not shuffling), cut to the <see cref="Shard"/> when there is one.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Shuffle) new Random(DeriveSeed(Seed, epoch, -1)).Shuffle(order);
        return Shard?.Select(order, BatchSize) ?? order;
    }

    /// <summary>
    /// Prepares one batch from the given dataset indices. Each sample has its own generator seeded by
    /// (seed, epoch, index), used first by the 8-bit transform and then by the tensor transform, so the
    /// result does not depend on the number of threads.
    /// </summary>
    public Batch MakeBatch(int[] indices, int epoch)
    {
        var images = new Image[indices.Length];
        var rngs = new Random[indices.Length];
        ForEachSample(indices.Length, i =>
        {
            var rng = new Random(DeriveSeed(Seed, epoch, indices[i]));
            var img = Dataset.GetImage(indices[i]);
            if (Transform is not null) img = Transform.Apply(img, rng);
            images[i] = img;
            rngs[i] = rng;
        });
        var first = images[0];
        foreach (var img in images)
            if (img.Channels != first.Channels || img.Height != first.Height || img.Width != first.Width)
                throw new InvalidDataException($"{Dataset.Name}: images in one batch differ in size ({first.Channels}x{first.Height}x{first.Width} vs {img.Channels}x{img.Height}x{img.Width}); add a resize/crop transform.");
        int per = first.Channels * first.Height * first.Width;
        var tensor = Tensor.Empty(new Shape(indices.Length, first.Channels, first.Height, first.Width));
        try
        {
            ForEachSample(indices.Length, i =>
            {
                var sample = tensor.Span.Slice(i * per, per);
                Normalization.Apply(images[i], sample);
                TensorTransform?.Apply(sample, first.Channels, first.Height, first.Width, rngs[i]);
            });
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        var labels = indices.Select(Dataset.GetLabel).ToArray();
        return new Batch(tensor, labels, indices);
    }

    /// <summary>Runs <paramref name="body"/> for 0..count−1 on up to <see cref="Workers"/> threads; a failure surfaces as itself, not wrapped.</summary>
    private void ForEachSample(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
        }
    }

    /// <summary>The batches of one epoch, prepared in the background.</summary>
    public IEnumerable<Batch> Epoch(int epoch = 0, CancellationToken cancel = default)
    {
        var order = Order(epoch);
        int count = BatchCount;
        using var queue = new BlockingCollection<Batch>(Math.Max(1, Prefetch));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        Exception? failure = null;
        var producer = Task.Run(() =>
        {
            try
            {
                for (int b = 0; b < count && !stop.IsCancellationRequested; b++)
                {
                    int start = b * BatchSize;
                    int n = Math.Min(BatchSize, order.Length - start);
                    queue.Add(MakeBatch(order[start..(start + n)], epoch), stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
                yield return batch;
            if (failure is not null) throw new InvalidDataException($"Loading {Dataset.Name} failed: {failure.Message}", failure);
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
            while (queue.TryTake(out var left)) left.Dispose();
        }
    }
}
