using System.Runtime.InteropServices;
using SpikeEngine.Distributed;

namespace SpikeEngine.Tests.Distributed;

/// <summary>The in-memory transport's collectives (the stand-in for MPI in the data-parallel tests) against sums written out by hand.</summary>
public class InMemoryTransportTests
{
    [Test]
    public void AllReduceSumsInRankOrderAndEveryRankGetsTheSameBits()
    {
        using var group = new InMemoryGroup(3);
        var inputs = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 50).Select(i => (float)Math.Sin(r * 100 + i) * (float)Math.Pow(10, i % 7 - 3)).ToArray()).ToArray();
        var results = group.Run(c =>
        {
            var mine = inputs[c.Rank].ToArray();
            c.AllReduceSum(mine);
            Span<long> counts = [c.Rank + 1, 10L * c.Rank];
            c.AllReduceSum(counts);
            Span<double> d = [0.1 * (c.Rank + 1)];
            c.AllReduceSum(d);
            return (mine, counts.ToArray(), d[0]);
        });
        var expected = Enumerable.Range(0, 50).Select(i => inputs[0][i] + inputs[1][i] + inputs[2][i]).ToArray();
        foreach (var (sum, counts, d) in results)
        {
            Assert.That(sum, Is.EqualTo(expected));
            Assert.That(counts, Is.EqualTo(new long[] { 6, 30 }));
            Assert.That(d, Is.EqualTo(0.1 + 0.2 + 0.30000000000000004));
        }
    }

    [Test]
    public void BroadcastAndAllGatherMoveBytesByRank()
    {
        using var group = new InMemoryGroup(4);
        var results = group.Run(c =>
        {
            var data = new byte[] { (byte)c.Rank, 7 };
            c.Broadcast(data, root: 2);
            var all = new byte[8];
            c.AllGather(new byte[] { (byte)(10 + c.Rank), (byte)c.Rank }, all);
            c.Barrier();
            return (data, all);
        });
        foreach (var (data, all) in results)
        {
            Assert.That(data, Is.EqualTo(new byte[] { 2, 7 }));
            Assert.That(all, Is.EqualTo(new byte[] { 10, 0, 11, 1, 12, 2, 13, 3 }));
        }
    }

    [Test]
    public void DifferentSizesOrAMissingRankFailInsteadOfHanging()
    {
        using (var group = new InMemoryGroup(2))
            Assert.That(() => group.Run(c => { c.AllReduceSum(new float[c.Rank + 1]); return 0; }),
                Throws.TypeOf<DistributedException>().With.Message.Contains("different sizes"));
        using (var group = new InMemoryGroup(2, TimeSpan.FromSeconds(1)))
            Assert.That(() => group.Run(c => { if (c.Rank == 0) c.Barrier(); return 0; }),
                Throws.TypeOf<DistributedException>().With.Message.Contains("not every rank arrived"));
    }
}
