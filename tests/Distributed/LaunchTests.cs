using SpikeEngine.Distributed;
using SpikeEngine.Tests.Runner;

namespace SpikeEngine.Tests.Distributed;

/// <summary>Which launcher started the process, from the variables mpirun and srun set.</summary>
public class LaunchTests
{
    private static LaunchInfo? Detect(params (string Name, string Value)[] vars) =>
        Launch.Detect(name => vars.FirstOrDefault(v => v.Name == name).Value);

    [Test]
    public void MpirunAndPmiVariablesGiveSizeRankAndLocalRank()
    {
        Assert.That(Detect(), Is.Null, "no launcher");
        Assert.That(Launch.Launched(_ => null), Is.False);
        Assert.That(Launch.Launched(n => n == "PMI_SIZE" ? "1" : null), Is.True, "set, whatever the value");
        Assert.That(Detect(("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_RANK", "3"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1")),
            Is.EqualTo(new LaunchInfo(4, 3, 1, "mpirun")));
        Assert.That(Detect(("PMI_SIZE", "8"), ("PMI_RANK", "5"), ("SLURM_LOCALID", "2")), Is.EqualTo(new LaunchInfo(8, 5, 2, "PMI (srun)")));
        Assert.That(Detect(("PMI_SIZE", "2"), ("PMI_RANK", "1")), Is.EqualTo(new LaunchInfo(2, 1, 1, "PMI (srun)")), "no local rank: the rank");
        Assert.That(Detect(("OMPI_COMM_WORLD_SIZE", "1"), ("OMPI_COMM_WORLD_RANK", "0")), Is.Null, "one rank is a plain run");
    }

    [Test]
    public void InconsistentVariablesAreAClearError()
    {
        Assert.That(() => Detect(("OMPI_COMM_WORLD_SIZE", "2")), Throws.TypeOf<DistributedException>().With.Message.Contains("OMPI_COMM_WORLD_RANK"));
        Assert.That(() => Detect(("PMI_SIZE", "two"), ("PMI_RANK", "0")), Throws.TypeOf<DistributedException>().With.Message.Contains("'two'"));
        Assert.That(() => Detect(("PMI_SIZE", "2"), ("PMI_RANK", "2")), Throws.TypeOf<DistributedException>().With.Message.Contains("rank 2"));
    }

    [Test]
    public void TheRunnerRefusesAnUnknownDistributedMode()
    {
        CliRun.Of("eval", "--distributed", "nccl", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "10")
            .AssertOneLineFailure("--distributed nccl", "auto or none");
        CliRun.Of("eval", "--dist_timeout", "0", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "10")
            .AssertOneLineFailure("--dist_timeout 0");
    }
}
