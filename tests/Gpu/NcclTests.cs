using SpikeEngine.Distributed;

namespace SpikeEngine.Tests.Gpu;

/// <summary>
/// The NCCL binding on a GPU: communicator set-up from a unique id handed over by a host communicator, the grouped
/// all-reduce on the engine's stream, and gradient averaging through it. Skips where NCCL does not load (the
/// emulated device has none: "NCCL absent (emulator)").
/// </summary>
public class NcclTests : GpuTestBase
{
    [SetUp]
    public void RequireNccl()
    {
        if (NcclCommunicator.UnavailableReason() is { } why) Assert.Ignore(why);
    }

    [Test]
    public void OneRankSetsUpSumsOnTheGpuAndAveragesGradients()
    {
        Assert.That(NcclCommunicator.Version(), Is.GreaterThan(20000), "NCCL 2.x");
        using var group = new InMemoryGroup(1);
        group.Run(host =>
        {
            using var nccl = NcclCommunicator.Create(host, Gpu);
            using var a = Tensor.FromArray([1f, -2f, 3.5f], new Shape(3), Gpu);
            using var b = Tensor.FromArray([0.25f], new Shape(1), Gpu);
            nccl.AllReduceSum([a, b]);
            Assert.That((a.ToArray(), b.ToArray()), Is.EqualTo((new[] { 1f, -2f, 3.5f }, new[] { 0.25f })), "one rank: the sum is the value");

            var model = new Sequential(new Linear(4, 3));
            model.To(Gpu);
            foreach (var (_, p) in model.NamedParameters()) p.Grad = Tensor.Full(p.Shape, 0.75f, Gpu);
            new DataParallel(host, nccl).AverageGradients(model);
            foreach (var (name, p) in model.NamedParameters()) Assert.That(p.Grad!.ToArray(), Is.All.EqualTo(0.75f), name);
            return 0;
        });
    }

    /// <summary>
    /// Two ranks (threads) on the one GPU: the unique id travels from rank 0 to rank 1 and both join one communicator.
    /// NCCL 2.5 and later refuse two ranks on one device (ncclInvalidUsage, "Duplicate GPU detected"), which must surface
    /// as that named error on both ranks, not a hang; an NCCL that accepts it must return the sum.
    /// </summary>
    [Test]
    public void TwoRanksOnOneGpuEitherSumOrFailWithNcclsNamedRefusal()
    {
        using var group = new InMemoryGroup(2, TimeSpan.FromSeconds(120));
        var run = Task.Run(() => group.Run(host =>
        {
            using var nccl = NcclCommunicator.Create(host, Gpu);
            using var t = Tensor.FromArray([host.Rank + 1f, 10f], new Shape(2), Gpu);
            nccl.AllReduceSum([t]);
            return t.ToArray();
        }));
        Assert.That(run.Wait(TimeSpan.FromSeconds(180)), Is.True, "NCCL set-up of two ranks on one GPU hung");
        if (run.Exception?.InnerException is { } e)
        {
            TestContext.Out.WriteLine(e.Message);
            Assert.That(e, Is.TypeOf<DistributedException>());
            Assert.That(e.Message, Does.Contain("ncclCommInitRank").And.Contain("ncclInvalidUsage"));
        }
        else
        {
            Assert.That(run.Result, Is.All.EqualTo(new[] { 3f, 20f }));
        }
    }
}

/// <summary>CUDA gradients averaged through host memory (ranks sharing a GPU, or no NCCL): copied out, summed over the ranks, copied back.</summary>
public class DataParallelOnGpuTests : GpuTestBase
{
    [Test]
    public void CudaGradientsWithoutNcclAreAveragedThroughTheHost()
    {
        using var group = new InMemoryGroup(2);
        var grads = group.Run(host =>
        {
            var model = new Sequential(new Linear(3, 2));
            model.To(Gpu);
            foreach (var (_, p) in model.NamedParameters())
                p.Grad = Tensor.FromArray(Enumerable.Range(0, p.Numel).Select(i => (host.Rank + 1) * (i + 0.5f)).ToArray(), p.Shape, Gpu);
            new DataParallel(host).AverageGradients(model);
            Assert.That(model.NamedParameters().Select(p => p.Tensor.Grad!.Device), Is.All.EqualTo(Gpu));
            return model.NamedParameters().Select(p => p.Tensor.Grad!.ToArray()).ToArray();
        });
        foreach (var rank in grads)
            foreach (var g in rank)
                Assert.That(g, Is.EqualTo(Enumerable.Range(0, g.Length).Select(i => (1 * (i + 0.5f) + 2 * (i + 0.5f)) / 2).ToArray()));
    }
}
