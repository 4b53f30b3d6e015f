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

    private Module _model = null!;
    private Sgd _sgd = null!;
    private Tensor _images = null!;
    private int[] _labels = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = ModelZoo.Create(Arch, 10, 4, new ModelOptions { Seed = 1 });
        _model.Train();
        _sgd = new Sgd(_model.NamedParameters(), 0.02f, 0.9f, 5e-4f);
        var rng = new Random(1);
        var data = new float[BatchSize * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        _images = Tensor.FromArray(data, new Shape(BatchSize, 3, 32, 32));
        _labels = Enumerable.Range(0, BatchSize).Select(i => i % 10).ToArray();
    }

    [Benchmark]
    public float Step() => TrainingStep.Run(_model, _sgd, _images, _labels).Loss;
}
