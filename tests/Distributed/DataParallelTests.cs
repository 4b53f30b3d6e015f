using SpikeEngine.Distributed;
using SpikeEngine.Tests.Runner;
using SpikeEngine.Training;
using SpikeEngine.Workflows;

namespace SpikeEngine.Tests.Distributed;

/// <summary>
/// Data-parallel training and sharded evaluation with ranks that are threads (<see cref="InMemoryGroup"/>): the
/// same engine code the Runner runs under mpirun, checked against the arithmetic written out and against one process.
/// </summary>
[NonParallelizable]
public class DataParallelTests
{
    private static Module Tiny(int seed)
    {
        var model = new Sequential(new Flatten(), new Linear(28 * 28, 10));
        var rng = new Random(seed);
        foreach (var (_, p) in model.NamedParameters())
            for (int i = 0; i < p.Numel; i++) p.Span[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        return model;
    }

    [Test]
    public void GradientsAreReplacedByTheirMeanOverTheRanksExactly()
    {
        const int ranks = 3;
        using var group = new InMemoryGroup(ranks);
        var grads = new float[ranks][][];
        var results = group.Run(c =>
        {
            var model = Tiny(1);
            var rng = new Random(100 + c.Rank);
            var mine = model.NamedParameters().Select(p => Enumerable.Range(0, p.Tensor.Numel).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray()).ToArray();
            grads[c.Rank] = mine;
            foreach (var ((_, p), g) in model.NamedParameters().Zip(mine)) p.Grad = Tensor.FromArray(g, p.Shape);
            new DataParallel(c).AverageGradients(model);
            return model.NamedParameters().Select(p => p.Tensor.Grad!.Span.ToArray()).ToArray();
        });
        for (int t = 0; t < grads[0].Length; t++)
        {
            var expected = Enumerable.Range(0, grads[0][t].Length).Select(i => (grads[0][t][i] + grads[1][t][i] + grads[2][t][i]) / ranks).ToArray();
            for (int r = 0; r < ranks; r++) Assert.That(results[r][t], Is.EqualTo(expected), $"tensor {t}, rank {r}");
        }
    }

    /// <summary>Fashion-MNIST images as a batch tensor, with labels.</summary>
    private static (Tensor Images, int[] Labels) Batch(int[] indices)
    {
        var loader = new DataLoader(Bundled.TestSet(), indices.Length, Normalization.FashionMnist);
        var b = loader.MakeBatch(indices, 0);
        return (b.Images.Clone(), b.Labels);
    }

    [Test]
    public void TwoRanksOnHalfBatchesTakeTheStepsOfOneProcessOnTheWholeBatch()
    {
        const int ranks = 2, batch = 16, steps = 3;
        var start = Tiny(3);
        // One process: the whole batch each step.
        var single = start.CloneTree();
        var sgd = new Sgd(single.NamedParameters(), 0.1f);
        for (int s = 0; s < steps; s++)
        {
            var (x, y) = Batch(Enumerable.Range(s * batch, batch).ToArray());
            TrainingStep.Run(single, sgd, x, y);
        }
        // Two ranks: each its DistributedSampler half of the same batch, gradients averaged.
        using var group = new InMemoryGroup(ranks);
        var replicas = group.Run(c =>
        {
            var model = c.Rank == 0 ? start.CloneTree() : Tiny(99); // rank 1 starts elsewhere: Start hands it rank 0's weights
            var dp = new DataParallel(c) { CheckReplicas = true };
            dp.Start(model);
            var opt = new Sgd(model.NamedParameters(), 0.1f);
            var shard = DataShard.For(c, ShardKind.Samples);
            for (int s = 0; s < steps; s++)
            {
                var (x, y) = Batch(shard.Select(Enumerable.Range(s * batch, batch).ToArray(), batch));
                TrainingStep.Run(model, opt, x, y, dp);
            }
            Assert.That(dp.CheckedSteps, Is.EqualTo(steps));
            return model.NamedParameters().Select(p => p.Tensor.Span.ToArray()).ToArray();
        });
        var reference = single.NamedParameters().Select(p => p.Tensor.Span.ToArray()).ToArray();
        for (int t = 0; t < reference.Length; t++)
        {
            Assert.That(replicas[1][t], Is.EqualTo(replicas[0][t]), "the replicas are bit for bit identical");
            // The mean of two half-batch means is the whole batch's mean, up to float rounding.
            Assert.That(replicas[0][t], Is.EqualTo(reference[t]).Within(2e-6f), $"tensor {t} against one process");
        }
    }

    [Test]
    public void BatchNormStatisticsStayLocalUnlessSyncedAndAreAlignedBeforeEvaluation()
    {
        const int ranks = 2;
        foreach (bool sync in new[] { false, true })
        {
            using var group = new InMemoryGroup(ranks);
            var buffers = group.Run(c =>
            {
                var model = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
                var dp = new DataParallel(c) { SyncBatchNorm = sync };
                dp.Start(model);
                var opt = new Sgd(model.NamedParameters(), 0.05f);
                var (x, y) = Batch(Enumerable.Range(c.Rank * 8, 8).ToArray());
                TrainingStep.Run(model, opt, x, y, dp);
                var after = Buffers(model);
                dp.AlignBuffers(model);
                return (after, aligned: Buffers(model));
            });
            if (sync) Assert.That(buffers[1].after, Is.EqualTo(buffers[0].after), "averaged after the step");
            else Assert.That(buffers[1].after, Is.Not.EqualTo(buffers[0].after), "each rank's own batches");
            Assert.That(buffers[1].aligned, Is.EqualTo(buffers[0].aligned), "the same everywhere before an evaluation");
            Assert.That(buffers[0].aligned, Is.EqualTo(buffers[0].after), "rank 0's (already averaged when synced)");
        }

        static float[] Buffers(Module m) => m.NamedBuffers().SelectMany(b => b.Tensor.Span.ToArray()).ToArray();
    }

    [Test]
    public void RanksThatWouldResumeFromDifferentEpochsAreStopped()
    {
        using var group = new InMemoryGroup(2);
        Assert.That(() => group.Run(c => { new DataParallel(c).Start(Tiny(1), startEpoch: c.Rank == 0 ? 3 : 0); return 0; }),
            Throws.TypeOf<DistributedException>().With.Message.Contains("rank 0: 3, rank 1: 0").And.Message.Contains("--savedir"));
    }

    [Test]
    public void ATrainingRunOnTwoRanksKeepsIdenticalReplicasAndWritesCheckpointsOnRankZeroOnly()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 300, test: 150);
        using var group = new InMemoryGroup(2);
        var outcomes = group.Run(c =>
        {
            var dp = new DataParallel(c) { CheckReplicas = true };
            var outcome = TrainingRun.Run(new TrainRequest("cnn", 4, "FashionMNIST", tmp["runs"])
            {
                Folder = tmp["data"], Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 3, Parallel = dp,
            });
            return (outcome, dp.CheckedSteps, dp.LastChecksum);
        });
        Assert.That(outcomes.Select(o => o.outcome.Ranks), Is.All.EqualTo(2));
        Assert.That(outcomes[1].outcome.BestAccuracy, Is.EqualTo(outcomes[0].outcome.BestAccuracy), "the sharded test accuracy is the whole set's on every rank");
        Assert.That(outcomes.Select(o => o.CheckedSteps), Is.All.EqualTo(2 * 5), "300 images: 150 per rank, 5 steps of 32 (the last of 22) per epoch");
        Assert.That(outcomes[1].LastChecksum, Is.EqualTo(outcomes[0].LastChecksum));
        // Rank 0's checkpoint, evaluated by one process on the whole test set, has the accuracy the ranks agreed on.
        var best = ModelLoader.Load(new ModelRequest(Path.Combine(tmp["runs"], TrainingCheckpoint.BestFile)));
        var alone = Evaluations.Ann(best, DataSplits.Open(new DataRequest("FashionMNIST") { Folder = tmp["data"] }), 64);
        Assert.That(alone.AnnAccuracy, Is.EqualTo(outcomes[0].outcome.BestAccuracy));
        Assert.That(Directory.GetFiles(tmp["runs"]).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "best.safetensors", "last.safetensors", TrainingLog.FileName }.Order()));
    }

    [Test]
    public void AWeightAverageOnTwoRanksIsRankZerosFileWithStatisticsOverBothShards()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 300, test: 150);
        using var group = new InMemoryGroup(2);
        var outcomes = group.Run(c => TrainingRun.Run(new TrainRequest("cnn", 4, "FashionMNIST", tmp["runs"])
        {
            Folder = tmp["data"], Epochs = 2, BatchSize = 64, LearningRate = 0.05, Seed = 3, SwaEpochs = 2, Parallel = new DataParallel(c),
        }));
        Assert.That(outcomes[0].SwaAccuracy, Is.Not.Null);
        Assert.That(outcomes[1].SwaAccuracy, Is.EqualTo(outcomes[0].SwaAccuracy), "one accuracy for the whole test set on every rank");
        // The statistics were averaged over the ranks before the sharded evaluation, so rank 0's file alone scores the same.
        var average = ModelLoader.Load(new ModelRequest(Path.Combine(tmp["runs"], TrainingCheckpoint.SwaFile)));
        var alone = Evaluations.Ann(average, DataSplits.Open(new DataRequest("FashionMNIST") { Folder = tmp["data"] }), 64);
        Assert.That(alone.AnnAccuracy, Is.EqualTo(outcomes[0].SwaAccuracy));
    }

    [Test]
    public void BatchNormStatisticsOfAWeightAverageAreTheMeanOverTheRanksShards()
    {
        static DataLoader Shard(int rank)
        {
            var rng = new Random(10 + rank);
            var data = new InMemoryImageDataset("shard", 1, 28, 28, Enumerable.Range(0, 16 * 784).Select(_ => (byte)rng.Next(256)).ToArray(), new int[16], ["a"]);
            return new DataLoader(data, 8, Normalization.FashionMnist);
        }
        static float[] Statistics(Module m) => m.NamedBuffers().Where(b => !b.Name.EndsWith("num_batches_tracked"))
            .SelectMany(b => b.Tensor.Span.ToArray()).ToArray();
        var alone = Enumerable.Range(0, 2).Select(rank =>
        {
            var model = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
            WeightAverage.RecomputeBatchNorm(model, Shard(rank), Device.Cpu, 0);
            return Statistics(model);
        }).ToArray();
        using var group = new InMemoryGroup(2);
        var together = group.Run(c =>
        {
            var model = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Seed = 1 });
            WeightAverage.RecomputeBatchNorm(model, Shard(c.Rank), Device.Cpu, 0, new DataParallel(c));
            return Statistics(model);
        });
        Assert.That(together[1], Is.EqualTo(together[0]), "the same statistics on every rank");
        Assert.That(together[0], Is.EqualTo(alone[0].Zip(alone[1], (a, b) => (a + b) / 2)).Within(1e-6), "the mean of the ranks' own");
    }

    [Test]
    public void ShardedEvaluationEqualsOneProcessBitForBit([Values(2, 3)] int ranks, [Values(500, 150)] int images)
    {
        var data = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = Bundled.Data, Limit = images });
        var cos = new SimulationSettings(8, presim: 4);
        var alone = ModelLoader.Load(new ModelRequest(Bundled.Model));
        var ann = Evaluations.Ann(alone, data, 100);
        bool everyRankHasABatch = images >= 100 * ranks; // a rank's recorder needs at least one batch
        var snn = Evaluations.Snn(alone, data, [cos, new SimulationSettings(8)], 100, recordActivity: everyRankHasABatch);
        var diagnosis = everyRankHasABatch ? Diagnostics.Run(alone, data, cos, 100) : null;
        using var group = new InMemoryGroup(ranks);
        var shared = group.Run(c =>
        {
            var model = ModelLoader.Load(new ModelRequest(Bundled.Model));
            return (Evaluations.Ann(model, data, 100, ranks: c), Evaluations.Snn(model, data, [cos, new SimulationSettings(8)], 100, recordActivity: everyRankHasABatch, ranks: c),
                diagnosis is null ? null : Diagnostics.Run(model, data, cos, 100, ranks: c));
        });
        foreach (var (a, s, d) in shared)
        {
            Assert.That((a.Samples, a.AnnAccuracy, a.Ranks), Is.EqualTo((ann.Samples, ann.AnnAccuracy, ranks)));
            Assert.That((s.Samples, s.AnnAccuracy, s.Ranks), Is.EqualTo((snn.Samples, snn.AnnAccuracy, ranks)));
            for (int r = 0; r < 2; r++)
            {
                Assert.That(s.Runs[r].AccuracyPerStep, Is.EqualTo(snn.Runs[r].AccuracyPerStep));
                // The firing rates, SynOps and energy of snn --json are summed over the ranks exactly, as the accuracies are.
                Assert.That(ResultJson.Serialize(s.Runs[r].Activity), Is.EqualTo(ResultJson.Serialize(snn.Runs[r].Activity)));
                Assert.That(s.Runs[r].Activity is null, Is.EqualTo(!everyRankHasABatch));
            }
            if (diagnosis is null) continue;
            Assert.That(d!.Ranks, Is.EqualTo(ranks));
            Assert.That(ResultJson.Serialize(d with { Ranks = 1 }), Is.EqualTo(ResultJson.Serialize(diagnosis)));
        }
    }

    [Test]
    public void DiagnosingOnMoreRanksThanBatchesIsRefusedOnEveryRank()
    {
        var data = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = Bundled.Data, Limit = 150 });
        using var group = new InMemoryGroup(3);
        Assert.That(() => group.Run(c => Diagnostics.Run(ModelLoader.Load(new ModelRequest(Bundled.Model)), data, new SimulationSettings(4), 100, ranks: c)),
            Throws.ArgumentException.With.Message.Contains("at least 3 batches"));
    }
}
