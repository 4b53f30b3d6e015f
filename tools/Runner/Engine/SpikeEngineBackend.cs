using System.Diagnostics;
using SpikeEngine.Backend;
using SpikeEngine.Data;
using SpikeEngine.IO;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Runner.Cli;
using SpikeEngine.Snn;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Runner.Engine;

/// <summary>The Runner's seam implemented by the SpikeEngine library.</summary>
public sealed class SpikeEngineBackend : IRunnerEngine
{
    private Device _device = Device.Cpu;

    public void UseDevice(Device device, int? threads)
    {
        if (threads is int n) Backends.Cpu.Threads = n;
        if (device.Kind != DeviceKind.Cpu)
        {
            try { Backends.For(device); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new CliError($"--device {device} is not available: {e.Message.TrimEnd('.')}. Use --device cpu.");
            }
        }
        _device = device;
    }

    // ------------------------------------------------------------------ data
    public IDataSplit OpenTest(DataRequest request)
    {
        var name = request.Dataset.Name;
        string folder = request.Folder;
        if (request.Download && name != "ImageNet" && Datasets.Locate(name, folder) is null
            && !File.Exists(Path.Combine(folder, "t10k-images-idx3-ubyte.gz")) && !File.Exists(Path.Combine(folder, "test_batch.bin")))
        {
            Downloads.Ensure(name, folder);
            folder = Locations.FindData(request.Dataset, folder, null, download: false);
        }
        IImageDataset set;
        IImageTransform? transform = null;
        switch (name)
        {
            case "FashionMNIST": set = FashionMnist.Load(folder, train: false); break;
            case "MNIST": set = FashionMnist.Load(folder, train: false, "MNIST", FashionMnist.DigitNames); break;
            case "CIFAR10":
                set = File.Exists(Path.Combine(folder, "test_batch.bin")) ? Cifar.LoadCifar10Binary(folder, false) : Cifar.LoadCifar10Python(folder, false);
                break;
            case "CIFAR100":
                set = File.Exists(Path.Combine(folder, "test.bin")) ? Cifar.LoadCifar100Binary(folder, false) : Cifar.LoadCifar100Python(folder, false);
                break;
            default:
                set = new ImageFolder(folder, "ImageNet/val");
                transform = new Compose(new Resize(256), new CenterCrop(224));
                break;
        }
        if (request.Limit is int limit && limit < set.Count) set = new FirstImages(set, limit);
        return new DataSplit(set, $"{name} test", Preset(name), transform);
    }

    private static Normalization Preset(string dataset) => dataset switch
    {
        "CIFAR10" => Normalization.Cifar10,
        "CIFAR100" => Normalization.Cifar100,
        "ImageNet" => Normalization.ImageNet,
        "MNIST" => Normalization.Mnist,
        _ => Normalization.FashionMnist,
    };

    /// <summary>The first N images of a data set (--limit).</summary>
    private sealed class FirstImages(IImageDataset inner, int count) : IImageDataset
    {
        public string Name => inner.Name;
        public int Count => count;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int GetLabel(int index) => inner.GetLabel(index);
        public Image GetImage(int index) => inner.GetImage(index);
    }

    // ------------------------------------------------------------------ models
    public IModel Load(string checkpointPath, ModelSpec expected, bool archGiven, Device device)
    {
        var checkpoint = Checkpoints.Load(checkpointPath);
        if (archGiven) Checkpoints.CheckArchitecture(checkpoint, expected.Arch);
        var meta = checkpoint.Metadata;
        var found = checkpoint.Architecture;
        string arch = archGiven ? expected.Arch : meta.Arch ?? found?.Arch ?? expected.Arch;
        string dataset = expected.Dataset.Length > 0 ? expected.Dataset : meta.Dataset ?? "";
        int classes = meta.Classes ?? found?.Classes ?? expected.Classes;
        if (classes <= 0)
            throw new CliError($"{checkpointPath} does not say how many classes it has: pass --dataset.");
        if (expected.Classes > 0 && classes != expected.Classes)
            throw new CliError($"{checkpointPath} has {classes} output classes but --dataset {dataset} has {expected.Classes}.");
        int levels = expected.L > 0 ? expected.L : meta.Levels ?? 4;
        var kind = dataset.Length > 0 ? Catalog.Dataset(dataset) : null;
        var options = new ModelOptions
        {
            Initialize = false,
            ImageNet = kind?.Name == "ImageNet",
            InputChannels = kind?.Channels,
        };
        var model = Models.Create(arch, classes, levels, options);
        model.LoadStateDict(checkpoint.Tensors, strict: true, checkpoint.Path);
        model.To(device);
        model.Eval();
        return new LoadedModel(new ModelSpec(arch, classes, levels, kind?.Name ?? ""), model, checkpoint.Path,
            meta.Normalization);
    }

    public TrainOutcome Train(TrainRequest r, Action<TrainProgress> progress, CancellationToken cancel)
    {
        var kind = Catalog.Dataset(r.Spec.Dataset);
        var bundle = kind.Name == "ImageNet"
            ? new DatasetBundle("ImageNet", r.Data.Folder, "imagefolder", new ImageFolder(r.Data.Folder, "ImageNet/train"),
                new ImageFolder(r.TestFolder, "ImageNet/val"), Normalization.ImageNet,
                new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip()), null, new Compose(new Resize(256), new CenterCrop(224)))
            : Datasets.Load(kind.Name, r.Data.Folder, Augmentation.Full, r.Data.Download);
        var normalization = bundle.Normalization;
        var model = Models.Create(r.Spec.Arch, r.Spec.Classes, r.Spec.L, new ModelOptions
        {
            Seed = r.Seed, ImageNet = kind.Name == "ImageNet", InputChannels = kind.Channels,
        });
        if (r.InitFrom is not null)
            Checkpoints.LoadInto(model, r.InitFrom, strict: true, expectedArch: r.Spec.Arch);
        var info = new ModelInfo(r.Spec.Arch, r.Spec.Classes, r.Spec.L, kind.Name, normalization);
        var trainer = new Trainer(new TrainerOptions
        {
            Epochs = r.Epochs, LearningRate = (float)r.LearningRate, WeightDecay = (float)r.WeightDecay,
            SaveDir = r.SaveDir, Resume = r.Resume, Device = r.Device, Seed = r.Seed,
        }, info);
        var trainLoader = bundle.TrainLoader(r.BatchSize, r.Seed);
        var testLoader = r.Data.Limit is int limit && limit < bundle.Test.Count
            ? new DataLoader(new FirstImages(bundle.Test, limit), r.BatchSize, normalization, transform: bundle.TestTransform)
            : bundle.TestLoader(r.BatchSize);
        var reporter = new Progress(progress);
        int done = 0;
        double best = 0;
        try
        {
            var result = trainer.Fit(model, trainLoader, testLoader, reporter, cancel);
            done = result.Epochs.Count == 0 ? r.Epochs : result.Epochs[^1].Epoch;
            best = result.BestAccuracy;
            return new TrainOutcome(trainer.BestPath!, trainer.LastPath!, best, done, Cancelled: false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return new TrainOutcome(trainer.BestPath!, trainer.LastPath!, reporter.Best, reporter.LastEpoch, Cancelled: true);
        }
    }

    private sealed class Progress(Action<TrainProgress> report) : IProgress<TrainingProgress>
    {
        public int LastEpoch;
        public double Best;

        public void Report(TrainingProgress p)
        {
            double? acc = p.Completed?.Test.Top1;
            if (p.Completed is { } c) { LastEpoch = c.Epoch; Best = Math.Max(Best, c.Test.Top1); }
            report(new TrainProgress(p.Epoch, p.Epochs, p.Batch, p.Batches, p.Completed?.TrainLoss ?? p.Loss, p.ImagesPerSecond, p.Remaining, acc));
        }
    }

    // ------------------------------------------------------------------ evaluation
    public double EvaluateAnn(IModel model, IDataSplit data, int batchSize, CancellationToken cancel)
    {
        var m = (LoadedModel)model;
        var d = (DataSplit)data;
        return Metrics.Evaluate(m.Module, Loader(m, d, batchSize), _device, cancel).Top1;
    }

    public SnnEvaluationOutcome EvaluateSnn(IModel model, IDataSplit data, IReadOnlyList<SnnRequest> runs, CancellationToken cancel)
    {
        var m = (LoadedModel)model;
        var settings = runs.Select(r => new SimulationSettings(r.SimLen, r.PresimLen, r.Iterations)).ToList();
        var result = SnnEvaluator.Evaluate(m.Module, m.Snn, Loader(m, (DataSplit)data, runs[0].BatchSize), settings);
        return new SnnEvaluationOutcome(result.AnnAccuracy,
            runs.Select((r, i) => new SnnOutcome(r, result.Runs[i].AccuracyPerStep, (int)result.Runs[i].Images, result.Runs[i].Seconds)).ToList());
    }

    /// <summary>Simulates every batch with a recorder attached (diagnostics).</summary>
    private void Record(LoadedModel m, DataSplit d, SnnRequest request, SpikeRecorder recorder, CancellationToken cancel)
    {
        var settings = new SimulationSettings(request.SimLen, request.PresimLen, request.Iterations);
        foreach (var batch in Loader(m, d, request.BatchSize).Epoch(0, cancel))
        {
            using (batch)
            {
                var images = batch.Images.To(_device);
                m.Snn.Simulate(images, settings, recorder).Dispose();
                if (images != batch.Images) images.Dispose();
            }
        }
    }

    public DiagnosticsOutcome Diagnose(IModel model, IDataSplit data, SnnRequest request, CancellationToken cancel)
    {
        var m = (LoadedModel)model;
        var d = (DataSplit)data;
        var plainRecorder = new SpikeRecorder();
        Record(m, d, request with { PresimLen = 0, Iterations = 1 }, plainRecorder, cancel);
        var plain = plainRecorder.Result();
        var cos = plain;
        if (request.PresimLen > 0)
        {
            var cosRecorder = new SpikeRecorder();
            Record(m, d, request, cosRecorder, cancel);
            cos = cosRecorder.Result();
        }
        var layers = cos.Layers.Select(c =>
        {
            var p = plain.Layers.First(l => l.Name == c.Name);
            return new LayerDiagnostics(c.Name, c.NeuronsPerImage, p.FiringRate, c.FiringRate, Bins(p.OffsetHistogram), Bins(c.OffsetHistogram),
                c.ShiftedUp, c.ShiftedDown, c.SpikesPerStep.Average());
        }).ToList();
        return new DiagnosticsOutcome(layers, cos.AnnMacsPerImage, cos.SynOpsPerStep.Sum(), cos.DenseMacsPerStep * request.SimLen,
            cos.AnnEnergyPicojoules * 1e-12, cos.SnnEnergyPicojoules * 1e-12,
            $"{EnergyModel.PicojoulesPerAccumulate} pJ per accumulate (SynOp), {EnergyModel.PicojoulesPerMac} pJ per multiply-accumulate (45 nm CMOS)",
            (int)cos.Images);
    }

    private static long[] Bins(SortedDictionary<int, long> histogram)
    {
        var bins = new long[5];
        foreach (var (psi, count) in histogram) bins[Math.Clamp(psi, -2, 2) + 2] += count;
        return bins;
    }

    private static DataLoader Loader(LoadedModel m, DataSplit d, int batchSize) =>
        new(d.Set, batchSize, m.Normalization ?? d.Normalization, transform: d.Transform);

    // ------------------------------------------------------------------ info
    public CheckpointInfo Summarize(string checkpointPath)
    {
        var checkpoint = Checkpoints.Load(checkpointPath);
        var s = CheckpointSummary.From(checkpoint);
        return new CheckpointInfo(s.Path, s.Format == CheckpointFormat.PyTorch ? "PyTorch .pth" : "safetensors",
            s.Arch, s.Classes, s.Levels, s.Dataset, s.ParameterCount, s.TensorCount,
            s.Thresholds.Select(t => new LambdaEntry(t.Layer, t.Lambda)).ToList(), checkpoint.Metadata.ToDictionary(), s.Notes);
    }

    private sealed class DataSplit(IImageDataset set, string description, Normalization normalization, IImageTransform? transform) : IDataSplit
    {
        public IImageTransform? Transform { get; } = transform;
        public IImageDataset Set { get; } = set;
        public Normalization Normalization { get; } = normalization;
        public string Description { get; } = description;
        public int Count => Set.Count;
    }

    private sealed class LoadedModel(ModelSpec spec, Module module, string source, Normalization? normalization) : IModel
    {
        public ModelSpec Spec { get; } = spec;
        public Module Module { get; } = module;
        public string Source { get; } = source;
        public Normalization? Normalization { get; } = normalization;
        private SpikingNetwork? _snn;
        /// <summary>The converted network, made on first use (conversion works on a copy; the ANN stays as it is).</summary>
        public SpikingNetwork Snn => _snn ??= SpikingNetwork.Convert(Module);
        public long Parameters => Module.ParameterCount;
    }
}
