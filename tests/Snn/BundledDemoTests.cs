using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Snn;

/// <summary>
/// The table of the bundled demo (the Runner run without arguments: tools/Runner/assets/fashionmnist-cnn-L4.safetensors
/// on the bundled Fashion-MNIST t10k set), pinned exactly through the engine API. The numbers are deterministic:
/// the loader does not shuffle, and the counts were the same with the AVX-512 and the AVX2 GEMM kernels
/// (DOTNET_EnableAVX512=0), which sum each output in the same order. A change here
/// means the engine now computes something else on a real trained model; if that is intended, the README's demo
/// table must change with it.
/// </summary>
public class BundledDemoTests
{
    [Test]
    [Category("Slow")]
    public void BundledModelGivesThePublishedAccuraciesExactly()
    {
        var assets = Path.Combine(TestEnvironment.RequireRepositoryRoot(), "tools", "Runner", "assets");
        var model = ModelZoo.Create("cnn", 10, 4, new ModelOptions { Initialize = false });
        Checkpoints.LoadInto(model, Path.Combine(assets, "fashionmnist-cnn-L4.safetensors"), strict: true, expectedArch: "cnn");
        model.Eval();
        var test = FashionMnist.Load(Path.Combine(assets, "fashion-mnist"), train: false);
        Assert.That(test.Count, Is.EqualTo(10_000));
        var loader = new DataLoader(test, 100, Normalization.FashionMnist, shuffle: false);

        var result = SnnEvaluator.Evaluate(model, SpikingNetwork.Convert(model), loader,
            [new SimulationSettings(8, presim: 0), new SimulationSettings(8, presim: 4)]);
        TestContext.Out.WriteLine(result.ToTable());

        // Correct images out of 10,000: ANN 88.50 %; plain 61.79 / 83.88 / 87.26 / 88.19 % and COS (ρ = 4)
        // 85.08 / 87.32 / 88.38 / 88.13 % at T = 1 / 2 / 4 / 8.
        long Correct(double accuracy) => (long)Math.Round(accuracy * result.Samples);
        int[] shown = [1, 2, 4, 8];
        Assert.That(result.Samples, Is.EqualTo(10_000));
        Assert.That(Correct(result.AnnAccuracy), Is.EqualTo(8850), "ANN");
        Assert.That(shown.Select(t => Correct(result.Runs[0].At(t))), Is.EqualTo(new long[] { 6179, 8388, 8726, 8819 }), "plain conversion at T = 1, 2, 4, 8");
        Assert.That(shown.Select(t => Correct(result.Runs[1].At(t))), Is.EqualTo(new long[] { 8508, 8732, 8838, 8813 }), "COS ρ = 4 at T = 1, 2, 4, 8");
    }
}
