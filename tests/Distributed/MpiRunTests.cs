using System.Diagnostics;
using SpikeEngine.Tests.Runner;
using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Distributed;

/// <summary>
/// The Runner under Open MPI's mpirun, two ranks on this machine (as a user launches it): results equal to one
/// process, replicas identical after every step, resume on another number of ranks, and a dead or hung rank
/// ends the job with a clear error instead of a hang. Needs mpirun (Debian: openmpi-bin).
/// </summary>
[NonParallelizable]
public class MpiRunTests
{
    private const string Mpirun = "/usr/bin/mpirun";
    private static string RunnerDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "Runner.dll");
    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    [SetUp]
    public void RequireMpirun() =>
        TestEnvironment.Require(File.Exists(Mpirun), $"{Mpirun} not found: apt-get install openmpi-bin (Open MPI, the MPI the engine binds)");

    /// <summary>mpirun's arguments for <paramref name="ranks"/> Runner processes (root allowed, more ranks than cores allowed, no pinning).</summary>
    private static string[] Launch(int ranks, params string[] runner) =>
        ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(), Dotnet, RunnerDll, .. runner];

    private static string RunOk(int ranks, TimeSpan timeout, params string[] runner)
    {
        var (code, output) = TestEnvironment.RunProcess(Mpirun, Launch(ranks, runner), timeout);
        Assert.That(code, Is.EqualTo(0), output);
        return output;
    }

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Test]
    public void SnnOnTwoRanksGivesTheSingleProcessAccuraciesExactly()
    {
        var cifar = TestEnvironment.RequireData("cifar-10-batches-bin", "test_batch.bin");
        using var tmp = new TempFolder();
        var fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "checkpoints", "resnet20_mixed_fp16.pth");
        string[] args = ["snn", "--dataset", "CIFAR10", "--datadir", Path.GetDirectoryName(cifar)!, "--load_model_name", fixture, "--net_arch", "resnet20",
            "--L", "4", "--presim_len", "4", "--sim_len", "8", "--limit", "300", "--batchsize", "100"];
        CliRun.Of([.. args, "--json", tmp["one.json"]]).AssertSuccess();
        RunOk(2, TimeSpan.FromMinutes(10), [.. args, "--json", tmp["two.json"]]);
        var (one, two) = (Json(tmp["one.json"]), Json(tmp["two.json"]));
        Assert.That((one.GetProperty("ranks").GetInt32(), two.GetProperty("ranks").GetInt32()), Is.EqualTo((1, 2)));
        Assert.That(two.GetProperty("samples").GetInt64(), Is.EqualTo(300));
        Assert.That(two.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(one.GetProperty("ann_accuracy").GetDouble()));
        Assert.That(Doubles(two.GetProperty("accuracy_per_step")), Is.EqualTo(Doubles(one.GetProperty("accuracy_per_step"))));
    }

    /// <summary>
    /// One epoch of Fashion-MNIST, global batch 128: one process, and two ranks of 64 (every step the same 128 images,
    /// DistributedSampler's interleaving; BatchNorm sees 64 at a time). The check is the issue's, two ranks reach the
    /// single-process accuracy to within a point, on the epoch's training accuracy (the mean over its 469 steps). The
    /// test accuracy after the epoch is one snapshot at lr 0.05 and float rounding alone moves it by several points
    /// (2 Dec 2026: 84.46 % and 86.07 % for one process before and after a change of the order in which backward-weight
    /// sums are added; two ranks 81.79–85.19 % depending on the kernel threads per rank), while the epoch's training
    /// accuracy stayed within 81.84–81.99 % in all of them; the snapshot is only checked for having learned.
    /// </summary>
    [Test, Category("Slow")]
    public void OneEpochOnTwoRanksMatchesOneProcessWithTheSameGlobalBatchAndKeepsIdenticalReplicas()
    {
        var folder = TestEnvironment.RequireFashionMnist("train-images-idx3-ubyte.gz");
        using var tmp = new TempFolder();
        string[] train = ["train", "--dataset", "FashionMNIST", "--datadir", folder, "--net_arch", "cnn", "--trainann_epochs", "1",
            "--batchsize", "128", "--lr", "0.05", "--seed", "1"];
        CliRun.Of([.. train, "--savedir", tmp["one"], "--json", tmp["one.json"]]).AssertSuccess();
        var output = RunOk(2, TimeSpan.FromMinutes(30), [.. train, "--savedir", tmp["two"], "--check_replicas", "--json", tmp["two.json"]]);
        TestContext.Out.WriteLine(output);
        Assert.That(output, Does.Contain("parameters bit for bit identical on all 2 ranks after each of 469 steps"), "60,000 images: 30,000 per rank in steps of 64");
        double TrainAccuracy(string run) => SpikeEngine.Training.TrainingLog.Read(Path.Combine(tmp[run], "FashionMNIST-cnn-L4", "training_log.csv")).Single().TrainAccuracy;
        double one = TrainAccuracy("one"), two = TrainAccuracy("two");
        double testTwo = Json(tmp["two.json"]).GetProperty("best_accuracy").GetDouble();
        TestContext.Out.WriteLine($"training accuracy over the epoch: one process {one:P2}, two ranks {two:P2}; test accuracy after it: " +
            $"one process {Json(tmp["one.json"]).GetProperty("best_accuracy").GetDouble():P2}, two ranks {testTwo:P2}");
        Assert.That(two, Is.EqualTo(one).Within(0.01), "two ranks reach the single-process training accuracy within a point");
        Assert.That(testTwo, Is.GreaterThan(0.75), "two ranks learned (test accuracy after one epoch)");
    }

    [Test]
    public void TrainingResumesOnAnotherNumberOfRanks()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 256, test: 100);
        string[] train = ["train", "--dataset", "FashionMNIST", "--net_arch", "cnn", "--datadir", tmp["data"], "--savedir", tmp["runs"], "--batchsize", "64", "--lr", "0.05"];
        CliRun.Of([.. train, "--trainann_epochs", "1"]).AssertSuccess();
        var output = RunOk(2, TimeSpan.FromMinutes(10), [.. train, "--trainann_epochs", "2", "--resume", "--check_replicas", "--json", tmp["two.json"]]);
        Assert.That(output, Does.Contain("2 ranks (mpirun), 32 images per rank and step"));
        Assert.That(output, Does.Contain("identical on all 2 ranks after each of 4 steps"), "epoch 2 only: 128 images per rank in steps of 32");
        var two = Json(tmp["two.json"]);
        Assert.That((two.GetProperty("epochs_done").GetInt32(), two.GetProperty("ranks").GetInt32()), Is.EqualTo((2, 2)));
        var one = CliRun.Of([.. train, "--trainann_epochs", "3", "--resume", "--json", tmp["one.json"]]);
        one.AssertSuccess();
        Assert.That(Json(tmp["one.json"]).GetProperty("epochs_done").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public void AGlobalBatchThatDoesNotSplitOverTheRanksIsRefused()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 64, test: 10);
        var (code, output) = TestEnvironment.RunProcess(Mpirun, Launch(2, "train", "--dataset", "FashionMNIST", "--net_arch", "cnn", "--datadir", tmp["data"],
            "--savedir", tmp["runs"], "--batchsize", "33", "--trainann_epochs", "1"), TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Not.EqualTo(0));
        // Every rank finds it; the first to report ends the job.
        Assert.That(output, Does.Match(@"error: rank [01]: The batch size 33 \(the global batch\) does not split evenly over 2 ranks"));
    }

    [Test]
    public void KillingOneRankEndsTheOthersAndLeavesNoHalfWrittenCheckpoint()
    {
        using var tmp = new TempFolder();
        using var job = StartEndlessTraining(tmp, "--dist_timeout", "300");
        var last = Path.Combine(tmp["runs"], "FashionMNIST-cnn-L4", "last.safetensors");
        job.WaitFor(() => File.Exists(last), TimeSpan.FromMinutes(5), "the first epoch's checkpoint");
        Thread.Sleep(1500); // into the next epoch (or its checkpoint writing)
        var killed = Stopwatch.StartNew();
        Process.GetProcessById(job.RankPid(1)).Kill();
        string output = job.WaitForExit(TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine($"mpirun ended {killed.Elapsed.TotalSeconds:F1} s after rank 1 was killed:\n{output}");
        Assert.That(job.ExitCode, Is.Not.EqualTo(0));
        Assert.That(output, Does.Contain("rank 1").And.Contain("exited on signal 9"));
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(last)!, "*.safetensors"))
            Assert.That(() => SafeTensors.Load(file), Throws.Nothing, $"{file} is complete");
    }

    [Test]
    public void AHungRankMakesTheWatchdogAbortEveryRankWithAClearError()
    {
        using var tmp = new TempFolder();
        using var job = StartEndlessTraining(tmp, "--dist_timeout", "5");
        job.WaitFor(() => job.Output.Contains("Training cnn"), TimeSpan.FromMinutes(5), "the training to start");
        Thread.Sleep(1000);
        job.Signal(job.RankPid(1), "STOP"); // alive but never arrives at the next all-reduce
        string output = job.WaitForExit(TimeSpan.FromSeconds(90));
        Assert.That(job.ExitCode, Is.Not.EqualTo(0));
        Assert.That(output, Does.Match(@"error: rank 0: MPI_\w+ waited \d+ s for the other ranks").And.Contain("aborting every rank"));
    }

    /// <summary>Two ranks training the small CNN for many epochs on 1,024 images (a job that runs until it is stopped).</summary>
    private static MpiJob StartEndlessTraining(TempFolder tmp, params string[] extra)
    {
        Bundled.WriteTinyFashionMnist(tmp["data"], train: 1024, test: 100);
        return MpiJob.Start(Launch(2, ["train", "--dataset", "FashionMNIST", "--net_arch", "cnn", "--datadir", tmp["data"], "--savedir", tmp["runs"],
            "--batchsize", "64", "--trainann_epochs", "500", .. extra]), marker: tmp.Path);
    }

    /// <summary>An mpirun job in the background: its output so far, its ranks' process ids, its end.</summary>
    private sealed class MpiJob : IDisposable
    {
        private readonly Process _mpirun;
        private readonly string _marker;
        private readonly System.Text.StringBuilder _output = new();
        private readonly HashSet<int> _ranks = [];

        private MpiJob(Process mpirun, string marker)
        {
            _mpirun = mpirun;
            _marker = marker;
        }

        public static MpiJob Start(string[] args, string marker)
        {
            var psi = new ProcessStartInfo(Mpirun) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            var job = new MpiJob(Process.Start(psi)!, marker);
            job._mpirun.OutputDataReceived += (_, e) => job.Append(e.Data);
            job._mpirun.ErrorDataReceived += (_, e) => job.Append(e.Data);
            job._mpirun.BeginOutputReadLine();
            job._mpirun.BeginErrorReadLine();
            return job;
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
        }

        public string Output { get { lock (_output) return _output.ToString(); } }
        public int ExitCode => _mpirun.ExitCode;

        public void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (_mpirun.HasExited) Assert.Fail($"mpirun ended before {what}:\n{Output}");
                if (clock.Elapsed > timeout) Assert.Fail($"no {what} within {timeout.TotalSeconds:F0} s:\n{Output}");
                Thread.Sleep(200);
            }
        }

        /// <summary>The process id of rank <paramref name="rank"/>: the Runner process whose command line holds the marker and whose environment says that rank.</summary>
        public int RankPid(int rank)
        {
            foreach (var dir in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
                try
                {
                    if (!File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(_marker)) continue;
                    if (!File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) continue;
                    lock (_ranks) _ranks.Add(pid);
                    return pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            Assert.Fail($"no process of rank {rank} found");
            return -1;
        }

        public void Signal(int pid, string signal)
        {
            using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
            kill.WaitForExit();
        }

        public string WaitForExit(TimeSpan timeout)
        {
            if (!_mpirun.WaitForExit(timeout)) Assert.Fail($"mpirun still runs {timeout.TotalSeconds:F0} s later:\n{Output}");
            _mpirun.WaitForExit(); // drains the output
            return Output;
        }

        /// <summary>Ends what is left: mpirun and the ranks this test looked at (a stopped rank may outlive mpirun).</summary>
        public void Dispose()
        {
            if (!_mpirun.HasExited) _mpirun.Kill(entireProcessTree: true);
            lock (_ranks)
                foreach (var pid in _ranks)
                {
                    try { using var p = Process.GetProcessById(pid); if (p.ProcessName is "dotnet" or "Runner") p.Kill(); }
                    catch (ArgumentException) { } // already gone
                    catch (InvalidOperationException) { }
                }
            _mpirun.Dispose();
        }
    }
}
