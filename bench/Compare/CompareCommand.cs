using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Text.Json;
using SpikeEngine.Bench.Training;
using SpikeEngine.Backend;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;
using SpikeEngine.Training;
using SpikeEngine.Data;
using SpikeEngine.Workflows;

namespace SpikeEngine.Bench.Compare;

/// <summary>
/// `bench -- compare`: every speed case of the engine beside its PyTorch peer (tools/peers/compare_peer.py,
/// kept running so the two alternate round by round in one session), one table with both times and the
/// ratio, plus the machine: CPU model, cores, SIMD width, measured FMA peak, and the peer's BLAS set-up
/// (the OPENBLAS_CORETYPE that multiplies fastest here, chosen by trying each). Writes the table as
/// JSON and CSV too.
/// Cases: training step b64 (ResNet-20, VGG-16) through ModelZoo.Create + TrainingStep.Run; COS T=4 ρ=4 b32
/// through SpikingNetwork.Simulate on the peer's own randomised model and input (same weights, same spikes);
/// GEMM 1024³; the `train` command's throughput (traincmd:resnet20: <see cref="TrainingRun"/> on the first 3,200 CIFAR-10
/// training images, full augmentation, batch 64, loading included) against the peer's bare training step.
/// </summary>
internal static class CompareCommand
{
    private sealed record Options(string Python, int Rounds, int Repeats, string OutDir, string[] Cases, string[] CoreTypes, string? DataDir, bool CasesGiven,
        bool AllowUnfairPeer);

    private sealed record Row(string Case, string What, double EngineBest, double EngineMedian, double PeerBest, double PeerMedian,
        string Unit, double Ratio, string Target, string Note);

    private static readonly string[] AllCases = ["train:resnet20", "train:vgg16", "cos:resnet20", "cos:vgg16", "gemm1024", "traincmd:resnet20"];

    /// <summary>The traincmd case: the first images of the CIFAR-10 training set, one epoch (the issue's `train --train_limit 3200`).</summary>
    private const int TrainCommandImages = 3200, TrainBatch = 64;

    /// <summary>
    /// Runs per round of the GEMM case, for the engine and the peer alike: ~0.6 s a side a round, so that the best of a
    /// round is not decided by a neighbour on the shared host that takes a core for a second (at 20 runs, 0.2 s, the
    /// engine's best of a run ranged 83–95 % of the peak over one evening with the same GEMM code, 3 Dec 2026).
    /// </summary>
    private const int GemmRepeats = 60;
    /// <summary>Seconds each side runs a case before it is timed (both sides alike; see the warm-up in Run).</summary>
    private const double WarmUpSeconds = 3;

    /// <summary>A peer whose best 1024³ GEMM stays under this share of the measured FMA peak has no real BLAS (OpenBLAS reaches 70–90 %).</summary>
    private const double UnfairPeerShare = 0.25;

    public static int Run(string[] args)
    {
        var options = Parse(args);
        if (options is null) return 2;
        string peerScript = FindRepoFile(Path.Combine("tools", "peers", "compare_peer.py"));
        var machine = DescribeMachine();
        Console.WriteLine($"machine: {machine.Cpu}; {machine.Cores} logical cores; SIMD {machine.SimdBits}-bit; engine threads {Backends.Cpu.Threads}");
        Console.WriteLine($"measured FMA peak: {machine.PeakGflops:F0} GFLOP/s = {Backends.Cpu.Threads} × {machine.PeakPerThread:F0} (one thread alone); all threads at once reached {machine.PeakConcurrent:F0}");

        // The peer's BLAS: each OPENBLAS_CORETYPE gets a fresh process (the variable is read when OpenBLAS loads).
        var coreResults = new List<(string Core, double Gflops)>();
        foreach (var core in options.CoreTypes)
        {
            var json = RunOnce(options.Python, peerScript, ["--gemm"], core);
            double gflops = json.RootElement.GetProperty("gflops").GetDouble();
            coreResults.Add((core, gflops));
            Console.WriteLine($"peer torch.mm 1024³ with OPENBLAS_CORETYPE={Show(core)}: {gflops:F1} GFLOP/s");
        }
        var bestCore = coreResults.MaxBy(c => c.Gflops).Core;
        double bestPeerGflops = coreResults.Max(c => c.Gflops);
        if (bestPeerGflops < UnfairPeerShare * machine.PeakGflops)
        {
            // Debian's torch falls back to the reference BLAS (5–12 GFLOP/s) without libopenblas0-pthread: every ratio
            // against it would flatter the engine.
            string problem = $"the peer's torch.mm reaches {bestPeerGflops:F1} GFLOP/s at best, under {100 * UnfairPeerShare:F0} % of this machine's " +
                $"measured FMA peak ({machine.PeakGflops:F0} GFLOP/s): torch is using a generic BLAS, not a fair peer. " +
                "Install a real one (Debian: apt-get install libopenblas0-pthread) and run again";
            if (!options.AllowUnfairPeer)
            {
                Console.Error.WriteLine($"compare: {problem}, or give --allow-unfair-peer to time against it anyway.");
                return 3;
            }
            Console.WriteLine($"WARNING: {problem}; --allow-unfair-peer given, the table says so.");
        }

        using var peer = new PeerProcess(options.Python, peerScript, bestCore);
        var info = peer.Ask(new { op = "info" });
        string peerSetup = $"torch {info.GetProperty("torch").GetString()}, {info.GetProperty("threads").GetInt32()} threads, " +
            $"BLAS {info.GetProperty("blas_library").GetString()}, OPENBLAS_CORETYPE={Show(bestCore)} (best of {string.Join(", ", coreResults.Select(c => $"{Show(c.Core)} {c.Gflops:F0}"))} GFLOP/s)" +
            (bestPeerGflops < UnfairPeerShare * machine.PeakGflops ? "; NOT A FAIR PEER: a generic BLAS (--allow-unfair-peer)" : "");
        Console.WriteLine($"peer: {peerSetup}");

        string exportDir = Path.Combine(Path.GetTempPath(), $"spikeengine-compare-{Environment.ProcessId}");
        var rows = new List<Row>();
        try
        {
            foreach (var c in options.Cases)
            {
                Console.WriteLine($"-- {c}");
                string? cifar = null;
                if (c.StartsWith("traincmd:") && (cifar = FindCifar10(options.DataDir)) is null)
                {
                    string why = $"no CIFAR-10 training set (cifar-10-batches-bin/) in {options.DataDir ?? string.Join(" or ", DefaultDataDirs)}; give --datadir";
                    if (options.CasesGiven) throw new DirectoryNotFoundException($"compare: {c}: {why}.");
                    Console.WriteLine($"   skipped: {why}");
                    continue;
                }
                // traincmd times the engine's whole training loop against the peer's bare step on a synthetic batch.
                string peerCase = c.StartsWith("traincmd:") ? "train:" + c.Split(':')[1] : c;
                var prepared = peer.Ask(new { op = "prepare", @case = peerCase, export = exportDir, warmup_seconds = WarmUpSeconds });
                using var engineCase = EngineCase.Create(c, exportDir, cifar);
                // Warm-up, both sides for the same time: the engine's JIT compiles a method again with full optimisation
                // only after its first calls (tiered compilation; ResNet-20's training step reached its steady time after
                // ~15 steps, 3 Dec 2026), and the per-step figures compare steady states. traincmd's one warm-up run is a
                // whole command; its timed runs include their own start-up.
                var warm = Stopwatch.StartNew();
                do engineCase.Measure();
                while (!c.StartsWith("traincmd:") && warm.Elapsed.TotalSeconds < WarmUpSeconds);
                // A 1024³ GEMM takes milliseconds: both sides run it GemmRepeats times a round, so one preempted run on a
                // shared machine does not decide its best; traincmd's one engine run is already 50 batches.
                int peerRepeats = c == "gemm1024" ? Math.Max(options.Repeats, GemmRepeats) : options.Repeats;
                int engineRepeats = c.StartsWith("traincmd:") ? 1 : peerRepeats;
                var engineTimes = new List<double>();
                var peerTimes = new List<double>();
                for (int round = 0; round < options.Rounds; round++)
                {
                    // OpenBLAS and OpenMP threads of the peer keep spinning for a while after its run: let them
                    // go idle before the engine is timed (the peer waits likewise before its own timing).
                    Thread.Sleep(500);
                    for (int i = 0; i < engineRepeats; i++) engineTimes.Add(engineCase.Measure());
                    var answer = peer.Ask(new { op = "run", @case = peerCase, repeats = peerRepeats });
                    peerTimes.AddRange(answer.GetProperty("seconds").EnumerateArray().Select(e => e.GetDouble()));
                    Console.WriteLine(c.StartsWith("traincmd:")
                        ? $"   round {round + 1}: engine best {TrainBatch / engineTimes.Min():F0} img/s (train command), peer best {TrainBatch / peerTimes.Min():F0} img/s (bare step)"
                        : $"   round {round + 1}: engine best {engineTimes.Min() * 1000:F1} ms, peer best {peerTimes.Min() * 1000:F1} ms");
                }
                rows.Add(MakeRow(c, engineCase, prepared, engineTimes, peerTimes, machine.PeakGflops));
            }
        }
        finally
        {
            if (Directory.Exists(exportDir)) Directory.Delete(exportDir, recursive: true);
        }

        var table = Table(rows);
        Console.WriteLine();
        Console.WriteLine($"Machine: {machine.Cpu}, {machine.Cores} logical cores, {machine.SimdBits}-bit SIMD, measured FP32 FMA peak {machine.PeakGflops:F0} GFLOP/s " +
            $"({Backends.Cpu.Threads} × {machine.PeakPerThread:F0} for one thread alone; {machine.PeakConcurrent:F0} with all threads at once), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"Peer: {peerSetup}");
        Console.WriteLine(table);
        Write(options.OutDir, machine, peerSetup, rows);
        return 0;
    }

    private static string Show(string core) => core.Length == 0 ? "(auto)" : core;

    private static Row MakeRow(string c, EngineCase e, JsonElement prepared, List<double> engine, List<double> peer, double peak)
    {
        double eb = engine.Min(), em = Median(engine), pb = peer.Min(), pm = Median(peer);
        var extra = prepared.GetProperty("extra");
        if (c == "gemm1024")
        {
            double flops = 2.0 * 1024 * 1024 * 1024;
            double eg = flops / eb / 1e9, pg = flops / pb / 1e9;
            return new Row(c, "GEMM 1024³ (GFLOP/s, best)", eg, flops / em / 1e9, pg, flops / pm / 1e9, "GFLOP/s", eg / pg,
                "≥ 85 % of peak, ≥ OpenBLAS", $"engine {100 * eg / peak:F0} % of the measured peak");
        }
        if (c.StartsWith("traincmd:"))
        {
            // Both as images per second: the engine's over a whole epoch of the train command, the peer's from its step time.
            double ei = TrainBatch / eb, pi = TrainBatch / pb;
            return new Row(c, $"`train` throughput, {c[9..]} ({TrainCommandImages} images, b{TrainBatch}, full augmentation, loading included) vs the bare step",
                ei, TrainBatch / em, pi, TrainBatch / pm, "img/s", ei / pi, "≥ 1.2×", "the peer: a synthetic batch, no loader, no augmentation");
        }
        string note = "";
        if (c.StartsWith("cos:"))
            note = $"IF firing rate engine {e.FiringRate:F3}, peer {extra.GetProperty("firing_rate").GetDouble():F3}";
        string what = c.StartsWith("train:") ? $"training step b64, {c[6..]}" : $"COS T=4 ρ=4 b32, {c[4..]}";
        return new Row(c, what, eb * 1000, em * 1000, pb * 1000, pm * 1000, "ms", pb / eb, c.StartsWith("train:") ? "≥ 1.3×" : "≥ 4×", note);
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static string Table(List<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| case | SpikeEngine (best / median) | PyTorch peer (best / median) | engine speed vs peer | target | note |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.What} | {r.EngineBest:F1} / {r.EngineMedian:F1} {r.Unit} | {r.PeerBest:F1} / {r.PeerMedian:F1} {r.Unit} | **{r.Ratio:F2}×** | {r.Target} | {r.Note} |"));
        return sb.ToString();
    }

    private static void Write(string dir, Machine machine, string peerSetup, List<Row> rows)
    {
        Directory.CreateDirectory(dir);
        string stamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHHmm", CultureInfo.InvariantCulture);
        string jsonPath = Path.Combine(dir, $"compare-{stamp}.json"), csvPath = Path.Combine(dir, $"compare-{stamp}.csv");
        var doc = new { machine, utc = DateTime.UtcNow, engineThreads = Backends.Cpu.Threads, peer = peerSetup, rows };
        WriteAtomically(jsonPath, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
        var csv = new StringBuilder("case,what,engine_best,engine_median,peer_best,peer_median,unit,engine_speed_vs_peer,target,note\n");
        foreach (var r in rows)
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Case},\"{r.What}\",{r.EngineBest:F3},{r.EngineMedian:F3},{r.PeerBest:F3},{r.PeerMedian:F3},{r.Unit},{r.Ratio:F3},\"{r.Target}\",\"{r.Note}\""));
        WriteAtomically(csvPath, csv.ToString());
        Console.WriteLine($"wrote {jsonPath} and {csvPath}");
    }

    private static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    private static double TimeOnce(Action body)
    {
        var sw = Stopwatch.StartNew();
        body();
        return sw.Elapsed.TotalSeconds;
    }

    // ---- engine cases ----

    private sealed class EngineCase : IDisposable
    {
        public Action? Body { get; init; }
        /// <summary>Seconds per repetition; null: the wall time of <see cref="Body"/>.</summary>
        public Func<double>? Seconds { get; init; }
        public double FiringRate { get; init; }
        public Action? Cleanup { get; init; }
        public void Dispose() => Cleanup?.Invoke();
        public double Measure() => Seconds is { } s ? s() : TimeOnce(Body!);

        public static EngineCase Create(string c, string exportDir, string? cifarFolder)
        {
            if (c == "gemm1024")
            {
                var rng = new Random(1);
                Tensor Make() { var d = new float[1024 * 1024]; for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() - 0.5); return Tensor.FromArray(d, new Shape(1024, 1024)); }
                var (a, b, y) = (Make(), Make(), Make());
                return new EngineCase
                {
                    Body = () => Backends.Cpu.Gemm(false, false, 1024, 1024, 1024, 1f, a, 0, 1024, b, 0, 1024, 0f, y, 0, 1024),
                    Cleanup = () => { a.Dispose(); b.Dispose(); y.Dispose(); },
                };
            }
            var (kind, arch) = (c.Split(':')[0], c.Split(':')[1]);
            if (kind == "traincmd")
            {
                // What `train --dataset CIFAR10 --net_arch ARCH --trainann_epochs 1 --train_limit 3200 --batchsize 64` runs
                // (full augmentation, the default); its train_images_per_second, as seconds per batch of 64.
                string saveDir = Path.Combine(exportDir, "traincmd");
                return new EngineCase
                {
                    Seconds = () =>
                    {
                        if (Directory.Exists(saveDir)) Directory.Delete(saveDir, recursive: true);
                        var outcome = TrainingRun.Run(new TrainRequest(arch, 4, "CIFAR10", saveDir)
                        {
                            Folder = cifarFolder, TrainLimit = TrainCommandImages, TestLimit = TrainBatch, Epochs = 1,
                            BatchSize = TrainBatch, Augmentation = Augmentation.Full,
                        });
                        return TrainBatch / outcome.TrainImagesPerSecond;
                    },
                };
            }
            if (kind == "train")
            {
                // As bench/Training/TrainingStepBenchmark and the peer: batch 64, SGD momentum 0.9, weight decay 5e-4.
                var (model, sgd, images, labels) = TrainingStepBenchmark.CreateStep(arch);
                return new EngineCase { Body = () => TrainingStep.Run(model, sgd, images, labels), Cleanup = images.Dispose };
            }
            if (kind == "cos")
            {
                // The peer's randomised model (BN statistics, λ at the 99th percentile) and input, loaded as a user loads a checkpoint.
                var ann = ModelZoo.Create(arch, 10, 4, new ModelOptions { Initialize = false });
                Checkpoints.LoadInto(ann, Path.Combine(exportDir, $"{arch}.model.safetensors"), strict: true);
                ann.Eval();
                var snn = SpikingNetwork.Convert(ann);
                var images = SafeTensors.Load(Path.Combine(exportDir, $"{arch}.input.safetensors")).Tensors["input"];
                var settings = new SimulationSettings(4, 4);
                var recorder = new SpikeRecorder();
                snn.Simulate(images, settings, recorder).Dispose();
                var stats = recorder.Result();
                double spikes = stats.Layers.Sum(l => l.FiringRate * l.NeuronsPerImage), neurons = stats.Layers.Sum(l => (double)l.NeuronsPerImage);
                return new EngineCase { Body = () => snn.Simulate(images, settings).Dispose(), FiringRate = spikes / neurons, Cleanup = images.Dispose };
            }
            throw new ArgumentException($"compare: unknown case '{c}' (known: {string.Join(", ", AllCases)}).");
        }
    }

    /// <summary>Where traincmd looks for CIFAR-10 without --datadir: the engine's default folder, then the shared data of this project's machines.</summary>
    private static readonly string[] DefaultDataDirs = [DataSplits.DefaultFolder, Path.Combine("..", "shared", "data")];

    private static string? FindCifar10(string? given) =>
        (given is null ? DefaultDataDirs : [given]).FirstOrDefault(d => Datasets.Locate("CIFAR10", d, DatasetSplit.Train) is not null);

    // ---- machine ----

    /// <summary>PeakGflops = threads × the one-thread FMA peak (the hardware's, used for "% of peak"); PeakConcurrent = all threads
    /// measured together, lower when other processes share the cores.</summary>
    internal sealed record Machine(string Cpu, int Cores, int SimdBits, double PeakGflops, double PeakPerThread, double PeakConcurrent);

    private static Machine DescribeMachine()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        if (File.Exists("/proc/cpuinfo"))
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? cpu;
        int simd = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;
        double one = FmaPeak(1), all = FmaPeak(Backends.Cpu.Threads);
        return new Machine(cpu, Environment.ProcessorCount, simd, one * Backends.Cpu.Threads, one, all);
    }

    /// <summary>Best of a few runs of independent FMA chains on every thread: the machine's practical FP32 peak.</summary>
    private static double FmaPeak(int threads)
    {
        double best = 0;
        for (int run = 0; run < 10; run++)
        {
            const long iterations = 20_000_000;
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => FmaChains(iterations));
            double seconds = sw.Elapsed.TotalSeconds;
            int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
            best = Math.Max(best, threads * iterations * 12.0 * lanes * 2 / seconds / 1e9);
        }
        return best;
    }

    /// <summary>12 independent accumulators (enough to cover FMA latency × 2 ports), iterations × 12 FMAs.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains(long iterations)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
            Vector512<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a); c2 = Avx512F.FusedMultiplyAdd(c2, m, a);
                c3 = Avx512F.FusedMultiplyAdd(c3, m, a); c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
                c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a); c8 = Avx512F.FusedMultiplyAdd(c8, m, a);
                c9 = Avx512F.FusedMultiplyAdd(c9, m, a); c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        if (Fma.IsSupported)
        {
            var m = Vector256.Create(0.999999f); var a = Vector256.Create(1e-7f);
            Vector256<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a); c2 = Fma.MultiplyAdd(c2, m, a);
                c3 = Fma.MultiplyAdd(c3, m, a); c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
                c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a); c8 = Fma.MultiplyAdd(c8, m, a);
                c9 = Fma.MultiplyAdd(c9, m, a); c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        return 0;
    }

    // ---- the peer process ----

    private static JsonDocument RunOnce(string python, string script, string[] args, string coreType)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (coreType.Length > 0) psi.Environment["OPENBLAS_CORETYPE"] = coreType;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"compare: cannot start {python}.");
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"compare: {python} {script} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Trim()}");
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
    }

    private sealed class PeerProcess : IDisposable
    {
        private readonly Process _process;

        public PeerProcess(string python, string script, string coreType)
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add("--serve");
            if (coreType.Length > 0) psi.Environment["OPENBLAS_CORETYPE"] = coreType;
            _process = Process.Start(psi) ?? throw new InvalidOperationException($"compare: cannot start {python} {script}.");
        }

        public JsonElement Ask(object request)
        {
            _process.StandardInput.WriteLine(JsonSerializer.Serialize(request));
            _process.StandardInput.Flush();
            string? line = _process.StandardOutput.ReadLine()
                ?? throw new InvalidOperationException($"compare: the PyTorch peer exited while answering {JsonSerializer.Serialize(request)}.");
            var answer = JsonDocument.Parse(line).RootElement;
            if (answer.TryGetProperty("error", out var error))
                throw new InvalidOperationException($"compare: the PyTorch peer failed on {JsonSerializer.Serialize(request)}: {error.GetString()}");
            return answer;
        }

        public void Dispose()
        {
            try { _process.StandardInput.Close(); if (!_process.WaitForExit(10_000)) _process.Kill(); }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    // ---- options ----

    private static Options? Parse(string[] args)
    {
        string python = "/usr/bin/python3", outDir = Path.Combine("bench", "results");
        string? dataDir = null;
        bool casesGiven = false, allowUnfairPeer = false;
        int rounds = 3, repeats = 3;
        string[] cases = AllCases;
        string[] cores = ["", "SkylakeX", "Cooperlake", "SapphireRapids", "Haswell", "Zen"];
        for (int i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"compare: {args[i]} needs a value.");
            switch (args[i])
            {
                case "--python": python = Value(); break;
                case "--rounds": rounds = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--out": outDir = Value(); break;
                case "--cases": cases = Value().Split(',', StringSplitOptions.RemoveEmptyEntries); casesGiven = true; break;
                case "--datadir": dataDir = Value(); break;
                case "--coretypes": cores = Value().Split(',').Select(c => c == "auto" ? "" : c).ToArray(); break;
                case "--threads": Backends.Cpu.Threads = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--allow-unfair-peer": allowUnfairPeer = true; break;
                default:
                    Console.Error.WriteLine($"compare: unknown option '{args[i]}'.\n" +
                        "usage: bench -- compare [--cases train:resnet20,train:vgg16,cos:resnet20,cos:vgg16,gemm1024,traincmd:resnet20] [--rounds 3] [--repeats 3]\n" +
                        "                        [--python /usr/bin/python3] [--coretypes auto,SkylakeX,...] [--threads N] [--out bench/results]\n" +
                        "                        [--datadir DIR (holding cifar-10-batches-bin/, for traincmd; default data, then ../shared/data)]\n" +
                        "                        [--allow-unfair-peer (time against a peer whose BLAS reaches under 25 % of the FMA peak)]");
                    return null;
            }
        }
        foreach (var c in cases)
            if (!AllCases.Contains(c)) { Console.Error.WriteLine($"compare: unknown case '{c}' (known: {string.Join(", ", AllCases)})."); return null; }
        if (rounds < 1 || repeats < 1) { Console.Error.WriteLine("compare: --rounds and --repeats must be at least 1."); return null; }
        return new Options(python, rounds, repeats, outDir, cases, cores, dataDir, casesGiven, allowUnfairPeer);
    }

    private static string FindRepoFile(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"compare: cannot find {relative} above {Directory.GetCurrentDirectory()}; run from the repository.");
    }
}
