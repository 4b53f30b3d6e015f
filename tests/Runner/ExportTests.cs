using System.Globalization;
using SpikeEngine.Autograd;
using SpikeEngine.Snn;
using SpikeEngine.Tests.IO;
using SpikeEngine.Tests.Support;
using SpikeEngine.Workflows;

namespace SpikeEngine.Tests.Runner;

/// <summary>
/// The export command end to end: its .pth loads in PyTorch the way the authors' code loads a checkpoint and gives
/// the engine's logits; its safetensors loads without options; the from-the-spec reference
/// (tools/reference/snn_accuracy.py) gives the engine's per-step SNN accuracies on the exported .pth; bad options
/// are one clear line.
/// </summary>
[NonParallelizable]
public class ExportTests
{
    /// <summary>The shipped CIFAR-10 model (issue 14); the reference check uses it when it is in the checkout.</summary>
    private const string ShippedModel = "tools/Runner/assets/resnet20-cifar10-L4.safetensors";
    /// <summary>A ResNet-20 the engine trained briefly on CIFAR-10 (tools/fixtures/README.md), stored as float16.</summary>
    private static string CifarFixture => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "cifar10", "resnet20-L4-short.pth");

    private static string ReferenceScript(string name) => Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "reference", name);

    [Test]
    public void ExportedPthOfTheResNet20FixtureLoadsTheAuthorsWayAndGivesTheEngineLogits()
    {
        TestEnvironment.RequirePythonWithTorch();
        using var tmp = new TempFolder();
        var source = CheckpointFixtures.File("resnet20_mixed_fp16.pth");
        CliRun.Of("export", "--load_model_name", source, "--L", "4", "--dataset", "CIFAR10", "--format", "pth", "--out", tmp["r20.pth"]).AssertSuccess();

        // The fixture's weights and input are dyadic (tools/fixtures/README.md): every QCFS input is far from a rounding
        // boundary, so the authors' arithmetic and ours must give the same logits up to float rounding.
        var model = ModelLoader.Load(new ModelRequest(source) { Levels = 4, Dataset = "CIFAR10" });
        var engine = CheckpointFixtures.Logits(model.Ann, CheckpointFixtures.File("input.npy"), [4, 10]);
        var torch = AuthorsLogits(tmp["r20.pth"], "resnet20", 4, CheckpointFixtures.File("input.npy"), tmp["logits.npy"]);
        Assert.That(CheckpointFixtures.MaxDifference(engine, torch), Is.LessThanOrEqualTo(1e-4 * CheckpointFixtures.Scale(engine)));
    }

    [Test]
    public void ExportedPthOfTheBundledCnnGivesTheEngineLogitsOnRealImages()
    {
        TestEnvironment.RequirePythonWithTorch();
        Bundled.Require();
        using var tmp = new TempFolder();
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["cnn.pth"]).AssertSuccess();

        var model = ModelLoader.Load(new ModelRequest(Bundled.Model));
        var split = DataSplits.Open(new DataRequest("FashionMNIST") { Folder = Bundled.Data, Limit = 64 });
        using var batch = model.Loader(split, 64).Epoch().First();
        Npy.Write(tmp["images.npy"], batch.Images.Span, batch.Images.Shape.ToArray());
        float[] engine;
        using (Grad.NoGrad())
        using (var logits = model.Ann.Forward(batch.Images)) engine = logits.ToArray();
        var torch = AuthorsLogits(tmp["cnn.pth"], "cnn", model.Levels, tmp["images.npy"], tmp["logits.npy"]);

        // A trained model on real images: a QCFS input within float rounding of a floor boundary may round the other
        // way in PyTorch (another summation order), moving a few logits by one quantisation step. The rest are equal.
        double scale = CheckpointFixtures.Scale(engine);
        int close = engine.Zip(torch, (e, t) => Math.Abs(e - t) <= 1e-4 * scale ? 1 : 0).Sum();
        Assert.That(close, Is.GreaterThanOrEqualTo(0.98 * engine.Length), $"{close} of {engine.Length} logits agree");
        Assert.That(Argmax(torch, 10), Is.EqualTo(Argmax(engine, 10)), "the predicted classes");
    }

    [Test]
    public void SafeTensorsExportCarriesTheMetadataAndLoadsWithoutOptions()
    {
        using var tmp = new TempFolder();
        var source = CheckpointFixtures.File("resnet20_mixed_fp16.pth");
        var run = CliRun.Of("export", "--load_model_name", source, "--L", "4", "--dataset", "CIFAR10", "--out", tmp["r20.safetensors"], "--json", tmp["e.json"]);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("safetensors").And.Contain("147 tensors"));
        var exported = ModelLoader.Load(new ModelRequest(tmp["r20.safetensors"]));
        Assert.That((exported.Arch, exported.Levels, exported.Classes, exported.Dataset), Is.EqualTo(("resnet20", 4, 10, "CIFAR10")));
        Assert.That(exported.Normalization, Is.Not.Null, "a .pth carries no normalisation: the data set's is recorded");
        Assert.That(exported.Normalization!.Mean, Is.EqualTo(SpikeEngine.Data.Datasets.NormalizationOf("CIFAR10").Mean));
        var original = ModelLoader.Load(new ModelRequest(source) { Levels = 4 }).Ann.StateDict();
        foreach (var (name, tensor) in exported.Ann.StateDict())
            Assert.That(tensor.ToArray(), Is.EqualTo(original[name].ToArray()), name);
        using var json = JsonDocument.Parse(File.ReadAllText(tmp["e.json"]));
        Assert.That(json.RootElement.GetProperty("format").GetString(), Is.EqualTo("safetensors"));
        Assert.That(json.RootElement.GetProperty("bytes").GetInt64(), Is.EqualTo(new FileInfo(tmp["r20.safetensors"]).Length));

        // Exporting again over the file replaces it whole and leaves no temporary file beside it.
        CliRun.Of("export", "--load_model_name", tmp["r20.safetensors"], "--format", "pth", "--out", tmp["r20.pth"]).AssertSuccess();
        CliRun.Of("export", "--load_model_name", tmp["r20.pth"], "--L", "4", "--dataset", "CIFAR10", "--out", tmp["r20.safetensors"]).AssertSuccess();
        Assert.That(Directory.GetFiles(tmp.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "r20.safetensors", "r20.pth", "e.json" }));
        Assert.That(ModelLoader.Load(new ModelRequest(tmp["r20.safetensors"])).Ann.StateDict()["fc.weight"].ToArray(), Is.EqualTo(original["fc.weight"].ToArray()));
    }

    [Test]
    public void MetaNotesGoIntoTheSafeTensorsMetadataBesideTheModelsOwnKeys()
    {
        using var tmp = new TempFolder();
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["a.safetensors"],
            "--meta", "epochs=64", "--meta", "command=train --lr 0.05 --wd=5e-4", "--meta", "empty=").AssertSuccess();
        var meta = SafeTensors.Load(tmp["a.safetensors"]).Metadata;
        Assert.That(meta["epochs"], Is.EqualTo("64"));
        Assert.That(meta["command"], Is.EqualTo("train --lr 0.05 --wd=5e-4"), "only the first '=' splits");
        Assert.That(meta["empty"], Is.EqualTo(""));
        var original = SafeTensors.Load(Bundled.Model).Metadata;
        foreach (var (key, value) in original)
            Assert.That(meta[key], Is.EqualTo(value), $"the model's own metadata '{key}' is kept");

        // A note over an earlier note replaces it; a note cannot rewrite what the model is.
        CliRun.Of("export", "--load_model_name", tmp["a.safetensors"], "--out", tmp["b.safetensors"], "--meta", "epochs=65").AssertSuccess();
        Assert.That(SafeTensors.Load(tmp["b.safetensors"]).Metadata["epochs"], Is.EqualTo("65"));
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["c.safetensors"], "--meta", "L=8")
            .AssertOneLineFailure("--meta", "'L' describes the model", "--L");
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["c.safetensors"], "--meta", "no-equals-sign")
            .AssertOneLineFailure("--meta", "'no-equals-sign' is not KEY=VALUE");
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["c.safetensors"], "--meta", "a=1", "--meta", "a=2")
            .AssertOneLineFailure("--meta", "'a' is given twice");
        CliRun.Of("export", "--load_model_name", Bundled.Model, "--out", tmp["c.pth"], "--meta", "a=1")
            .AssertOneLineFailure("--meta needs --format safetensors");
        Assert.That(File.Exists(tmp["c.safetensors"]) || File.Exists(tmp["c.pth"]), Is.False, "nothing written on a bad note");
    }

    [Test]
    public void BadExportOptionsAreOneClearLine()
    {
        using var tmp = new TempFolder();
        var model = Bundled.Model;
        CliRun.Of("export", "--load_model_name", model, "--format", "onnx", "--out", tmp["m.onnx"])
            .AssertOneLineFailure("--format", "'onnx'", "pth", "safetensors");
        CliRun.Of("export", "--load_model_name", model, "--format", "pth").AssertOneLineFailure("export needs --out FILE");
        CliRun.Of("export", "--load_model_name", model, "--out", tmp["m.bin"]).AssertOneLineFailure("does not end in .pth or .safetensors", "--format");
        CliRun.Of("export", "--load_model_name", model, "--format", "pth", "--out", tmp["m.safetensors"]).AssertOneLineFailure("--format pth", "make them agree");
        CliRun.Of("export", "--out", tmp["m.pth"]).AssertOneLineFailure("export needs a checkpoint");
        CliRun.Of("export", "--load_model_name", model, "--format", "pth", "--out", tmp.Path).AssertOneLineFailure($"cannot write {tmp.Path}", "is a folder");
        // A file where the output's folder should be: the folder cannot be made.
        var blocker = tmp.Touch("blocker");
        CliRun.Of("export", "--load_model_name", model, "--out", Path.Combine(blocker, "m.pth")).AssertOneLineFailure($"cannot write {Path.Combine(blocker, "m.pth")}");
        Assert.That(Directory.GetFiles(tmp.Path), Is.EqualTo(new[] { blocker }), "nothing written");
    }

    /// <summary>
    /// engine/METHOD.md §2–5 computed twice: by the engine, and by the from-the-spec reference on the exported .pth.
    /// On the shipped CIFAR-10 model (2,000 test images) when the checkout has it, else on the briefly trained fixture
    /// (300 images). Both are real checks: the model must be trained (well above chance, several classes predicted),
    /// per-step accuracies must agree within 0.3 points and per-image predictions at every step in ≥ 99 % of images.
    /// </summary>
    [Test]
    public void TheReferenceGivesTheEnginesPerStepAccuraciesOnTheExportedPth()
    {
        TestEnvironment.RequirePythonWithTorch();
        var cifar = TestEnvironment.RequireData("cifar-10-batches-bin", "test_batch.bin");
        var shipped = Path.Combine(TestEnvironment.RequireRepositoryRoot(), ShippedModel);
        bool useShipped = File.Exists(shipped);
        var (source, images, minimumAnn) = useShipped ? (shipped, 2000, 0.80) : (CifarFixture, 300, 0.15);
        TestContext.Out.WriteLine($"model: {source}, {images} images");
        using var tmp = new TempFolder();
        CliRun.Of("export", "--load_model_name", source, "--L", "4", "--dataset", "CIFAR10", "--format", "pth", "--out", tmp["m.pth"]).AssertSuccess();

        var model = ModelLoader.Load(new ModelRequest(tmp["m.pth"]) { Levels = 4, Dataset = "CIFAR10" });
        var split = DataSplits.Open(new DataRequest("CIFAR10") { Folder = cifar, Limit = images });
        SimulationSettings[] runs = [new(8), new(8, presim: 4)];
        var engine = Evaluations.Snn(model, split, runs, batchSize: 100, keepPredictions: true);
        // A .pth records no normalisation: the source's (the shipped file's metadata), else CIFAR-10's.
        var normalization = ModelLoader.Load(new ModelRequest(source) { Levels = 4, Dataset = "CIFAR10" }).Normalization
                            ?? SpikeEngine.Data.Datasets.NormalizationOf("CIFAR10");
        string Floats(float[] v) => string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
        var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python,
            [ReferenceScript("snn_accuracy.py"), "--pth", tmp["m.pth"], "--arch", "resnet20", "--levels", "4", "--cifar10", cifar,
             "--images", images.ToString(CultureInfo.InvariantCulture), "--mean", Floats(normalization.Mean), "--std", Floats(normalization.Std),
             "--steps", "8", "--rhos", "0,4", "--out", tmp["ref.json"]], TimeSpan.FromMinutes(30));
        Assert.That(code, Is.Zero, output);
        TestContext.Out.WriteLine("reference: " + output.Trim());
        TestContext.Out.WriteLine("engine:    " + engine.ToTable());
        using var reference = JsonDocument.Parse(File.ReadAllText(tmp["ref.json"]));
        var r = reference.RootElement;

        var labels = engine.Predictions!.Labels;
        Assert.That(engine.Samples, Is.EqualTo(images));
        Assert.That(engine.AnnAccuracy, Is.GreaterThanOrEqualTo(minimumAnn), "the model must be trained for the comparison to mean something");
        Assert.That(engine.Predictions.Ann.Distinct().Count(), Is.GreaterThanOrEqualTo(4), "the model must tell classes apart");
        Assert.That(r.GetProperty("ann_accuracy").GetDouble(), Is.EqualTo(engine.AnnAccuracy).Within(0.003), "ANN accuracy");
        for (int k = 0; k < runs.Length; k++)
        {
            var theirs = r.GetProperty("runs")[k];
            Assert.That(theirs.GetProperty("presim_len").GetInt32(), Is.EqualTo(runs[k].Presim));
            var accuracy = theirs.GetProperty("accuracy_per_step").EnumerateArray().Select(a => a.GetDouble()).ToArray();
            Assert.That(accuracy, Is.EqualTo(engine.Runs[k].AccuracyPerStep).Within(0.003), $"accuracy per step, ρ = {runs[k].Presim}");
            var perStep = theirs.GetProperty("predictions_per_step");
            for (int t = 0; t < runs[k].Steps; t++)
            {
                var ours = engine.Predictions.Runs[k].PerStep[t];
                var refs = perStep[t].EnumerateArray().Select(p => p.GetInt32()).ToArray();
                int same = ours.Zip(refs, (a, b) => a == b ? 1 : 0).Sum();
                Assert.That(same, Is.GreaterThanOrEqualTo(0.99 * images), $"ρ = {runs[k].Presim}, t = {t + 1}: {same} of {images} images predicted alike");
            }
            if (runs[k].Presim > 0)
                Assert.That(engine.Runs[k].At(8), Is.GreaterThan(minimumAnn - 0.05), $"COS ρ = {runs[k].Presim} at T = 8 is near the ANN, not at chance");
        }
        Assert.That(labels.Length, Is.EqualTo(images));
    }

    private static float[] AuthorsLogits(string pth, string arch, int levels, string inputNpy, string outNpy)
    {
        var (code, output) = TestEnvironment.RunProcess(TestEnvironment.Python,
            [ReferenceScript("authors_load.py"), "--pth", pth, "--arch", arch, "--levels", levels.ToString(CultureInfo.InvariantCulture),
             "--input", inputNpy, "--out", outNpy], TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("OK: ").And.Contain("loaded strictly"));
        return Npy.Read(outNpy).Data;
    }

    private static int[] Argmax(float[] logits, int classes) =>
        Enumerable.Range(0, logits.Length / classes).Select(b =>
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (logits[b * classes + c] > logits[b * classes + best]) best = c;
            return best;
        }).ToArray();
}
