using System.Text.Json.Nodes;
using SpikeEngine.Distributed;
using SpikeEngine.Tests.Runner;
using SpikeEngine.Tests.Support;
using SpikeEngine.Workflows;

namespace SpikeEngine.Tests.Distributed;

/// <summary>How a data order is cut into per-rank shards: against PyTorch's DistributedSampler, and the batch shards against the single-process batches.</summary>
public class ShardingTests
{
    private static readonly (int N, int Ranks)[] Cases = [(10, 3), (7, 2), (2, 5), (128, 2), (1, 4), (9, 3)];

    [Test]
    public void SampleShardsAreWhatPyTorchsDistributedSamplerPicks()
    {
        TestEnvironment.RequirePythonWithTorch();
        const string script = """
            import json, sys
            from torch.utils.data.distributed import DistributedSampler
            out = {}
            for case in sys.argv[1:]:
                n, w = map(int, case.split(","))
                for r in range(w):
                    out[f"{n},{w},{r}"] = list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False))
            print(json.dumps(out))
            """;
        var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python, new[] { "-c", script }.Concat(Cases.Select(c => $"{c.N},{c.Ranks}")), TimeSpan.FromMinutes(2));
        Assert.That(code, Is.EqualTo(0), output);
        var torch = JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last())!.AsObject();
        foreach (var (n, ranks) in Cases)
        {
            // A shuffled order: the sampler's positions (shuffle=False over range(n)) index into it.
            var order = Enumerable.Range(0, n).ToArray();
            new Random(n * 31 + ranks).Shuffle(order);
            for (int r = 0; r < ranks; r++)
            {
                var positions = torch[$"{n},{ranks},{r}"]!.AsArray().Select(v => (int)v!).ToArray();
                var shard = new DataShard(r, ranks, ShardKind.Samples);
                Assert.That(shard.Select(order, batchSize: 3), Is.EqualTo(positions.Select(p => order[p]).ToArray()), $"n = {n}, {ranks} ranks, rank {r}");
                Assert.That(shard.Count(n, 3), Is.EqualTo(positions.Length));
            }
        }
    }

    [Test]
    public void BatchShardsDealTheSingleProcessBatchesRoundRobinAndCoverEveryImageOnce()
    {
        foreach (var (n, batch, ranks) in new[] { (10, 3, 2), (10, 3, 3), (10, 3, 5), (12, 4, 3), (5, 10, 2), (100, 7, 4) })
        {
            var order = Enumerable.Range(0, n).Select(i => 1000 + i).ToArray();
            var single = order.Chunk(batch).ToArray();
            var seen = new List<int>();
            for (int r = 0; r < ranks; r++)
            {
                var shard = new DataShard(r, ranks, ShardKind.Batches);
                var mine = shard.Select(order, batch);
                Assert.That(shard.Count(n, batch), Is.EqualTo(mine.Length), $"n {n}, batch {batch}, rank {r}/{ranks}");
                var expected = single.Where((_, b) => b % ranks == r).ToArray();
                Assert.That(mine.Chunk(batch).ToArray(), Is.EqualTo(expected), "re-batching the shard gives the same batches");
                seen.AddRange(mine);
            }
            Assert.That(seen.Order(), Is.EqualTo(order), "disjoint, and together every image once");
        }
    }

    [Test]
    public void ALoadersShardFollowsItsSeededEpochOrderOnEveryRank()
    {
        var set = Bundled.TestSet();
        var first = DataSplits.First(set, 50);
        var whole = new DataLoader(first, 8, Normalization.FashionMnist, shuffle: true, seed: 5);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var order = whole.Order(epoch);
            var parts = Enumerable.Range(0, 3).Select(r =>
                new DataLoader(first, 8, Normalization.FashionMnist, shuffle: true, seed: 5) { Shard = new DataShard(r, 3, ShardKind.Samples) }).ToArray();
            var shards = parts.Select(p => p.Order(epoch)).ToArray();
            Assert.That(shards.Select(s => s.Length), Is.All.EqualTo(17), "50 padded to 51, 17 each");
            Assert.That(parts.Select(p => p.BatchCount), Is.All.EqualTo(3));
            // Interleaved back together they are the epoch's order, padded with its start.
            var together = Enumerable.Range(0, 51).Select(i => shards[i % 3][i / 3]).ToArray();
            Assert.That(together, Is.EqualTo(order.Concat(order.Take(1)).ToArray()), $"epoch {epoch}");
            Assert.That(parts[1].Order(epoch), Is.EqualTo(shards[1]), "deterministic");
        }
        Assert.That(whole.Order(0), Is.Not.EqualTo(whole.Order(1)), "reshuffled per epoch");
    }
}
