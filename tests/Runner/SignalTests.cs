using System.Diagnostics;
using SpikeEngine.Runner.Cli;
using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Runner;

/// <summary>The Runner as its own process: SIGTERM (kill, a batch scheduler's time limit) stops training gracefully.</summary>
[NonParallelizable]
public class SignalTests
{
    [Test]
    public void SigtermStopsTrainingAfterTheCurrentBatchAndKeepsTheLastCheckpoint()
    {
        Bundled.Require();
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 512, test: 32);
        var runner = Path.ChangeExtension(typeof(RunnerCli).Assembly.Location, ".dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { runner, "train", "--dataset", "FashionMNIST", "--datadir", tmp["data"], "--net_arch", "cnn",
                     "--trainann_epochs", "50", "--batchsize", "16", "--savedir", tmp["saved"], "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var last = Path.Combine(tmp["saved"], "FashionMNIST-cnn-L4", "last.safetensors");
        var clock = Stopwatch.StartNew();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null && !line.StartsWith("epoch 1/50  lr", StringComparison.Ordinal))
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) break;
        Assert.That(line, Does.StartWith("epoch 1/50"), "the first epoch finished");
        Assert.That(File.Exists(last), Is.True);

        Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        var rest = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("the Runner did not stop within 60 s of SIGTERM");
        }
        Assert.That(p.ExitCode, Is.EqualTo(Commands.Interrupted), rest.Result + stderr.Result);
        Assert.That(stderr.Result, Does.Contain("SIGTERM").And.Contain("--resume"));
        Assert.That(rest.Result, Does.Not.Contain("epoch 50/50"), "stopped early");
        var epoch = int.Parse(SafeTensors.Load(last).Metadata[ModelMetadata.EpochKey]);
        Assert.That(epoch, Is.GreaterThanOrEqualTo(1).And.LessThan(50), "the last good checkpoint is a finished epoch");
    }
}
