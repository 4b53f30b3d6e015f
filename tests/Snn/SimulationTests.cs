namespace SpikeEngine.Tests.Snn;

public class SimulationTests
{
    [Test]
    public void StreamingGivesTheSameOutputsAsMultiStepWithRhoZero()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 11));
        using var x = SnnTestModels.Images(3, 1, 28, 4);
        const int steps = 6;
        using var multi = snn.Simulate(x, new SimulationSettings(steps));
        var expected = multi.ToArray();
        snn.Reset();
        int classes = 10, rows = 3 * classes;
        for (int t = 0; t < steps; t++)
        {
            using var step = snn.Step(x);
            var actual = step.ToArray();
            var want = expected.AsSpan(t * rows, rows).ToArray();
            for (int i = 0; i < rows; i++)
                Assert.That(actual[i], Is.EqualTo(want[i]).Within(1e-5f * (1 + Math.Abs(want[i]))), $"step {t + 1}, element {i}");
        }
        // After Reset the stream starts over.
        snn.Reset();
        using var first = snn.Step(x);
        Assert.That(first.ToArray(), Is.EqualTo(expected.AsSpan(0, rows).ToArray()).Within(1e-4f));
    }

    [Test]
    public void EarlyStepsDoNotDependOnTAndRhoLongerThanTWorks()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 12));
        using var x = SnnTestModels.Images(2, 1, 28, 5);
        using var longRun = snn.Simulate(x, new SimulationSettings(8, presim: 4));
        using var shortRun = snn.Simulate(x, new SimulationSettings(2, presim: 4));   // ρ > T: N = 4 steps
        Assert.That(shortRun.Shape, Is.EqualTo(new Shape(4 * 2, 10)));
        var a = longRun.ToArray().AsSpan(0, 4 * 2 * 10).ToArray();
        var b = shortRun.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.That(b[i], Is.EqualTo(a[i]).Within(1e-4f * (1 + Math.Abs(a[i]))), $"element {i}");
    }

    [Test]
    public void CosChangesSpikeTrainsAndPlainEqualsRhoZero()
    {
        var snn = SpikingNetwork.Convert(SnnTestModels.Cnn(seed: 13));
        using var x = SnnTestModels.Images(2, 1, 28, 6);
        var plain = new SpikeRecorder();
        var cos = new SpikeRecorder();
        snn.Simulate(x, new SimulationSettings(4, 0), plain).Dispose();
        snn.Simulate(x, new SimulationSettings(4, 4), cos).Dispose();
        var p = plain.Result();
        var c = cos.Result();
        Assert.That(p.Layers.All(l => l.ShiftedUp == 0 && l.ShiftedDown == 0), "ρ = 0 never shifts");
        Assert.That(c.Layers.Sum(l => l.ShiftedUp + l.ShiftedDown), Is.GreaterThan(0), "COS shifts some neurons");
        foreach (var l in p.Layers.Concat(c.Layers))
        {
            Assert.That(l.OffsetHistogram.Values.Sum(), Is.EqualTo(2L * l.NeuronsPerImage), $"{l.Name}: one ψ per neuron and image");
            Assert.That(l.SpikesPerStep.Sum() / (4.0 * l.NeuronsPerImage), Is.EqualTo(l.FiringRate).Within(1e-12));
        }
    }

    [Test]
    public void PredictionsUseCumulativeOutputsAndTiesGoToTheLowestClass()
    {
        // B = 2, 3 classes, 3 steps.
        float[] o =
        [
            0, 1, 1,    2, 0, 0,     // t=1: image 0 ties 1 and 2 → 1; image 1 → 0
            0, 0, 1,    0, 2, 0,     // t=2: cumulative (0,1,2) → 2; (2,2,0) tie → 0
            5, 0, 0,    0, 1, 0,     // t=3: (5,1,2) → 0; (2,3,0) → 1
        ];
        using var t = Tensor.FromArray(o, new Shape(6, 3));
        var p = SpikingNetwork.PredictionsPerStep(t, 2, 3);
        Assert.That(p[0], Is.EqualTo(new[] { 1, 0 }));
        Assert.That(p[1], Is.EqualTo(new[] { 2, 0 }));
        Assert.That(p[2], Is.EqualTo(new[] { 0, 1 }));
    }

    /// <summary>
    /// The evaluator over several batches (the last one partial) and two settings, against accuracies derived
    /// by hand. The network is [Flatten, identity Linear(2, 2), QCFS (L = 4, λ = 1), identity Linear(2, 2)] on
    /// 1×1×2 images with normalisation x = pixel / 255, so each IF neuron gets a constant current c ∈ [0, 1]:
    /// starting at v = 0.5 it has fired floor(c·t + 1/2) times after step t (METHOD.md §3), and the class
    /// predicted at t is the neuron with more spikes so far (ties → class 0, §5). With a constant current
    /// COS never shifts (v_ρ = 0.5 + c·ρ − floor(c·ρ + 1/2) ∈ [0, 1)), so ρ = 4 predicts as plain. The ANN
    /// predicts the larger QCFS output floor(4c + 1/2) / 4. Pixels whose c·t + 1/2 or 4c + 1/2 lies within
    /// 10⁻³ of an integer are avoided, so float rounding cannot move a spike.
    /// </summary>
    [Test]
    public void EvaluationAccuraciesMatchSpikeCountsWorkedOutInClosedForm()
    {
        const int images = 10, maxSteps = 8;
        var rng = new Random(3);
        static bool NearInteger(double v) => Math.Abs(v - Math.Round(v)) < 1e-3;
        byte DrawPixel()
        {
            while (true)
            {
                byte p = (byte)rng.Next(256);
                double c = p / 255.0;
                if (!NearInteger(4 * c + 0.5) && Enumerable.Range(1, maxSteps).All(t => !NearInteger(c * t + 0.5))) return p;
            }
        }
        var pixels = new byte[images * 2];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = DrawPixel();
        static int ArgMax(double a, double b) => b > a ? 1 : 0;
        // Labels: the class with the larger pixel, except every third image, which gets the other class.
        var labels = Enumerable.Range(0, images).Select(i => ArgMax(pixels[2 * i], pixels[2 * i + 1]) ^ (i % 3 == 0 ? 1 : 0)).ToArray();

        double AnnAccuracy() => Enumerable.Range(0, images).Count(i =>
            ArgMax(Math.Floor(4 * pixels[2 * i] / 255.0 + 0.5), Math.Floor(4 * pixels[2 * i + 1] / 255.0 + 0.5)) == labels[i]) / (double)images;
        double SnnAccuracy(int t) => Enumerable.Range(0, images).Count(i =>
            ArgMax(Math.Floor(pixels[2 * i] / 255.0 * t + 0.5), Math.Floor(pixels[2 * i + 1] / 255.0 * t + 0.5)) == labels[i]) / (double)images;

        var first = new Linear(2, 2, bias: false);
        first.Weight.Backend.CopyFromHost([1, 0, 0, 1], first.Weight);
        var readout = new Linear(2, 2, bias: false);
        readout.Weight.Backend.CopyFromHost([1, 0, 0, 1], readout.Weight);
        var ann = new Sequential(new Flatten(), first, new Qcfs(4, 1f), readout);
        var snn = SpikingNetwork.Convert(ann);
        var data = new InMemoryImageDataset("two pixels", 1, 1, 2, pixels, labels, ["left", "right"]);
        var loader = new DataLoader(data, 4, new Normalization([0f], [1f]), shuffle: false);

        var result = SnnEvaluator.Evaluate(ann, snn, loader, [new SimulationSettings(maxSteps), new SimulationSettings(3, presim: 4)]);

        Assert.That(result.Samples, Is.EqualTo(images));
        Assert.That(result.AnnAccuracy, Is.EqualTo(AnnAccuracy()));
        Assert.That(result.Runs.Select(r => (r.PresimLen, r.SimLen)), Is.EqualTo(new[] { (0, maxSteps), (4, 3) }));
        var plainExpected = Enumerable.Range(1, maxSteps).Select(SnnAccuracy).ToArray();
        Assert.That(result.Runs[0].AccuracyPerStep, Is.EqualTo(plainExpected), "plain, t = 1..8");
        Assert.That(result.Runs[1].AccuracyPerStep, Is.EqualTo(plainExpected[..3]), "COS ρ = 4 (no shift for constant currents), t = 1..3");
        Assert.That(plainExpected.Distinct().Count(), Is.GreaterThan(2), "the accuracy must change over time for the check to mean something");
        Assert.That(result.ToTable(), Does.Contain("COS ρ=4"));
        Assert.That(result.ToJson(), Does.Contain("\"accuracy_per_step\""));
    }
}
