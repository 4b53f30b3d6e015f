using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using SpikeEngine.Nn;
using SpikeEngine.Nn.Models;
using SpikeEngine.Tensors;
using SpikeEngine.Training;

namespace SpikeEngine.Bench.Training;

/// <summary>
/// One training step (forward, cross-entropy, backward, SGD with momentum and weight decay, graph
/// release) at batch 64 on CIFAR shapes (3×32×32, 10 classes). images/s = 64 / mean time.
/// Peer: tools/peers/train_step_torch.py.
/// Run: dotnet run -c Release --project bench -- --filter '*TrainingStep*'
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class TrainingStepBenchmark
{
    public const int BatchSize = 64;

    [Params("resnet20", "vgg16")]
    public string Arch { get; set; } = "resnet20";

    private (Module Model, Sgd Sgd, Tensor Images, int[] Labels) _step;

    [GlobalSetup]
    public void Setup() => _step = CreateStep(Arch);

    [Benchmark]
    public float Step() => TrainingStep.Run(_step.Model, _step.Sgd, _step.Images, _step.Labels).Loss;

    /// <summary>
    /// One step's state, shared with `bench -- compare` and `bench -- steploop`: the model (seed 1) in training mode,
    /// SGD (lr 0.02, momentum 0.9, weight decay 5e-4), a batch of seeded uniform images in [−2, 2), labels i mod 10.
    /// </summary>
    public static (Module Model, Sgd Sgd, Tensor Images, int[] Labels) CreateStep(string arch)
    {
        var model = ModelZoo.Create(arch, 10, 4, new ModelOptions { Seed = 1 });
        model.Train();
        var sgd = new Sgd(model.NamedParameters(), 0.02f, 0.9f, 5e-4f);
        var rng = new Random(1);
        var data = new float[BatchSize * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        var images = Tensor.FromArray(data, new Shape(BatchSize, 3, 32, 32));
        var labels = Enumerable.Range(0, BatchSize).Select(i => i % 10).ToArray();
        return (model, sgd, images, labels);
    }
}
