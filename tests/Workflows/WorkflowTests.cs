using SpikeEngine.Tests.Runner;
using SpikeEngine.Training;
using SpikeEngine.Workflows;

namespace SpikeEngine.Tests.Workflows;

/// <summary>The engine's use cases (SpikeEngine.Workflows) on the bundled model and data and on the PyTorch fixtures.</summary>
[NonParallelizable]
public class WorkflowTests
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "checkpoints", name);

    [SetUp]
    public void RequireBundledAssets() => Bundled.Require();

    [Test]
    public void ATestOnlyFolderOpensItsTestSplitCutToTheLimit()
    {
        var data = DataSplits.Open(new DataRequest("fashion_mnist") { Folder = Bundled.Data, Limit = 7 });
        Assert.That((data.Dataset, data.Count, data.Description), Is.EqualTo(("FashionMNIST", 7, "FashionMNIST test")));
        var set = Bundled.TestSet();
        Assert.That(Enumerable.Range(0, 7).Select(data.Images.GetLabel), Is.EqualTo(Enumerable.Range(0, 7).Select(set.GetLabel)));
        Assert.That(data.Normalization, Is.EqualTo(Normalization.FashionMnist));
        Assert.That(() => DataSplits.Open(new DataRequest("FashionMNIST") { Folder = Bundled.Data, Split = DatasetSplit.Train }),
            Throws.TypeOf<DirectoryNotFoundException>().With.Message.Contains("train-images-idx3-ubyte").And.Message.Contains("--download"));
    }

    /// <summary>Two empty "images" in two class folders (an ImageFolder lists files without decoding them).</summary>
    private static (string A, string B, ImageSplit Data) TwoFileValidationSplit(TempFolder tmp)
    {
        var a = tmp.Touch("val/n01/a.png");
        var b = tmp.Touch("val/n02/b,1.png");
        return (a, b, DataSplits.Open(new DataRequest("ImageNet") { Folder = tmp["val"] }));
    }

    [Test]
    public void AClassFolderIsTheImageNetValidationSplitAndNamesItsFiles()
    {
        using var tmp = new TempFolder();
        var (a, b, data) = TwoFileValidationSplit(tmp);
        Assert.That(data.Count, Is.EqualTo(2));
        Assert.That((data.RecordName(0), data.RecordName(1)), Is.EqualTo((a, b)));
        var viaParent = DataSplits.Open(new DataRequest("ImageNet") { Folder = tmp.Path, Limit = 1 });
        Assert.That((viaParent.Count, viaParent.RecordName(0)), Is.EqualTo((1, a)), "--datadir holding val/");
    }

    /// <summary>A hand-made table: plain columns before COS ones whatever the run order, file names quoted when they hold a comma.</summary>
    [Test]
    public void PredictionsCsvByHand()
    {
        using var tmp = new TempFolder();
        var (a, b, data) = TwoFileValidationSplit(tmp);
        var table = new PredictionTable([0, 1], [0, 1], [0, 0],
            [new RunPredictions("cos", [[1, 0], [1, 1]]), new RunPredictions("plain", [[0, 0], [0, 1]])]);
        PredictionsCsv.Write(tmp["p.csv"], table, data);
        Assert.That(File.ReadAllText(tmp["p.csv"]), Is.EqualTo(
            "index,path,label,ann,plain_t1,plain_t2,cos_t1,cos_t2\n" +
            $"0,{a},0,0,0,0,1,1\n" +
            $"1,\"{b}\",1,0,0,1,0,1\n"));
    }

    /// <summary>The predicted class at step t is the argmax of the outputs summed over steps 1..t; a tie goes to the lower class.</summary>
    [Test]
    public void PredictionsAreTheArgmaxOfTheCumulativeOutputWithTiesToTheLowestClass()
    {
        // T = 3 steps, B = 2 images, 3 classes; rows t·B + b.
        var outputs = Tensor.FromArray([
            1, 1, 0,   0, 0, 2,   // t = 1: image 0 ties 0/1 → 0; image 1 → 2
            0, 2, 0,   3, 0, 0,   // t = 2: sums [1,3,0] → 1; [3,0,2] → 0
            2, 0, 0,   0, 0, 1,   // t = 3: sums [3,3,0] → 0 (tie); [3,0,3] → 0 (tie)
        ], new Shape(6, 3));
        var perStep = SpikingNetwork.PredictionsPerStep(outputs, batch: 2, steps: 3);
        Assert.That(perStep, Is.EqualTo(new[] { new[] { 0, 2 }, new[] { 1, 0 }, new[] { 0, 0 } }));
    }

    [Test]
    public void APthNeedsLAndRefusesAnotherArchitectureOrClassCount()
    {
        Assert.That(() => ModelLoader.Load(new ModelRequest(Fixture("resnet20_mixed_fp16.pth"))),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("QCFS level L"));
        var model = ModelLoader.Load(new ModelRequest(Fixture("resnet20_mixed_fp16.pth")) { Levels = 4 });
        Assert.That((model.Arch, model.Classes, model.Levels, model.Dataset, model.Device), Is.EqualTo(("resnet20", 10, 4, (string?)null, Device.Cpu)));
        Assert.That(() => ModelLoader.Load(new ModelRequest(Bundled.Model) { Arch = "VGG-16" }),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("cnn").And.Message.Contains("vgg16"));
        Assert.That(() => ModelLoader.Load(new ModelRequest(Bundled.Model) { Dataset = "CIFAR100" }),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("10 output classes").And.Message.Contains("100"));
        var bundled = ModelLoader.Load(new ModelRequest(Bundled.Model));
        Assert.That((bundled.Arch, bundled.Levels, bundled.Dataset), Is.EqualTo(("cnn", 4, "FashionMNIST")), "all from the metadata");
    }

    [Test]
    public void EveryBatchIsPlacedOnTheRequestedDeviceInDataOrder()
    {
        var set = Bundled.TestSet().Take(25);
        var loader = new DataLoader(set, 10, Normalization.FashionMnist);
        var seen = new List<int>();
        foreach (var batch in DevicePlacement.Batches(loader, Device.Cpu))
            using (batch)
            {
                Assert.That(batch.Images.Device, Is.EqualTo(Device.Cpu));
                Assert.That(batch.Images.Shape, Is.EqualTo(new Shape(batch.Size, 1, 28, 28)));
                Assert.That(batch.Labels, Is.EqualTo(batch.Indices.Select(set.GetLabel).ToArray()));
                seen.AddRange(batch.Indices);
            }
        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 25)));

        using var host = loader.MakeBatch([3, 4], 0);
        var expected = host.Images.Span.ToArray();
        using var placed = DevicePlacement.On(loader.MakeBatch([3, 4], 0), Device.Cpu);
        Assert.That(placed.Images.Span.ToArray(), Is.EqualTo(expected), "the same normalised pixels");
        Assert.That(placed.Indices, Is.EqualTo(new[] { 3, 4 }));
    }

    [Test]
    public void AnnAndSnnEvaluationAgreeOnTheAnnAndKeepPredictionsInDataOrder()
    {
        var model = ModelLoader.Load(new ModelRequest(Bundled.Model));
        var data = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = Bundled.Data, Limit = 60 });
        var ann = Evaluations.Ann(model, data, 25, keepPredictions: true);
        var snn = Evaluations.Snn(model, data, [new SimulationSettings(4, 2)], 25, keepPredictions: true);
        Assert.That(ann.Samples, Is.EqualTo(60));
        Assert.That(snn.AnnAccuracy, Is.EqualTo(ann.AnnAccuracy));
        Assert.That(snn.Predictions!.Ann, Is.EqualTo(ann.Predictions!.Ann));
        Assert.That(snn.Predictions.Indices, Is.EqualTo(Enumerable.Range(0, 60)));
        Assert.That(snn.Predictions.Runs.Single().Name, Is.EqualTo("cos"));
        var last = snn.Predictions.Runs[0].PerStep[3];
        Assert.That(last.Zip(snn.Predictions.Labels).Count(p => p.First == p.Second) / 60.0, Is.EqualTo(snn.Runs[0].At(4)));
    }

    [Test]
    public void TrainLimitTrainsOnTheFirstImagesOnlyAndThroughputIsMeasured()
    {
        using var tmp = new TempFolder();
        Bundled.WriteTinyFashionMnist(tmp["fm"], train: 200, test: 40);
        var reports = new List<TrainingProgress>();
        var outcome = TrainingRun.Run(new TrainRequest("cnn", 4, "FashionMNIST", tmp["saved"])
        {
            Folder = tmp["fm"], TrainLimit = 96, TestLimit = 20, BatchSize = 32, Epochs = 1, Seed = 3,
        }, new SyncProgress(reports.Add));
        Assert.That(outcome.Cancelled, Is.False);
        Assert.That(outcome.EpochsDone, Is.EqualTo(1));
        Assert.That(reports.Where(r => r.Completed is null).Select(r => r.Batches).Distinct(), Is.EqualTo(new[] { 3 }), "96 images in batches of 32");
        Assert.That(reports.Single(r => r.Completed is not null).Completed!.Test.Samples, Is.EqualTo(20));
        Assert.That(outcome.TrainImagesPerSecond, Is.GreaterThan(0).And.LessThan(double.PositiveInfinity));
        Assert.That(outcome.TrainImagesPerSecond, Is.GreaterThanOrEqualTo(96 / outcome.Seconds), "evaluation and set-up are not in the training phase");
        var meta = SafeTensors.Load(outcome.BestPath).Metadata;
        Assert.That((meta[ModelMetadata.FormatKey], meta[ModelMetadata.ArchKey], meta[ModelMetadata.LevelsKey]), Is.EqualTo((ModelMetadata.TrainedFormat, "cnn", "4")));
    }

    [Test]
    public void ExportsLoadBackToTheSameWeights()
    {
        using var tmp = new TempFolder();
        var model = ModelLoader.Load(new ModelRequest(Fixture("resnet20_mixed_fp16.pth")) { Levels = 4, Dataset = "CIFAR10" });
        Exports.ToSafeTensors(model, tmp["r20.safetensors"]);
        Exports.ToPyTorch(model, tmp["r20.pth"]);
        var fromSafeTensors = ModelLoader.Load(new ModelRequest(tmp["r20.safetensors"]));
        Assert.That((fromSafeTensors.Arch, fromSafeTensors.Levels, fromSafeTensors.Dataset), Is.EqualTo(("resnet20", 4, "CIFAR10")), "metadata travels");
        var fromPth = ModelLoader.Load(new ModelRequest(tmp["r20.pth"]) { Levels = 4 });
        var original = model.Ann.StateDict();
        foreach (var other in new[] { fromSafeTensors, fromPth })
            foreach (var (name, tensor) in other.Ann.StateDict())
                Assert.That(tensor.Span.ToArray(), Is.EqualTo(original[name].Span.ToArray()), name);
    }

    [Test]
    public void ResultsHaveOneSnakeCaseJsonForm()
    {
        var evaluation = new SnnEvaluation(3, 1 / 3.0, 0.5, [new SnnRunResult(3, 4, 2, 1, 2, [1 / 3.0, 2 / 3.0], 1.0)]);
        using var doc = JsonDocument.Parse(evaluation.ToJson());
        var run = doc.RootElement.GetProperty("runs")[0];
        Assert.That(doc.RootElement.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(0.333333));
        Assert.That(run.GetProperty("accuracy_per_step")[1].GetDouble(), Is.EqualTo(0.666667));
        Assert.That(run.GetProperty("presim_len").GetInt32(), Is.EqualTo(4));
        Assert.That(run.GetProperty("batchsize").GetInt32(), Is.EqualTo(2));
        Assert.That(run.GetProperty("latency_per_step_ms").GetDouble(), Is.EqualTo(1000.0 / (2 * 2)), "2 batches of 2 images, T = 2");
        Assert.That(run.GetProperty("images_per_second").GetDouble(), Is.EqualTo(3.0));
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
