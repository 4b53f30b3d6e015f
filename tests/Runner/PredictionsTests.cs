namespace SpikeEngine.Tests.Runner;

/// <summary>--predictions FILE of eval and snn, checked against the reported accuracies and the data set's own labels.</summary>
[NonParallelizable]
public class PredictionsTests
{
    [SetUp]
    public void RequireBundledAssets() => Bundled.Require();

    private static (string[] Header, string[][] Rows) ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToArray());
    }

    [Test]
    public void SnnPredictionsReproduceThePerStepAccuraciesOfBothRuns()
    {
        using var tmp = new TempFolder();
        const int n = 120, steps = 6;
        var run = CliRun.Of("snn", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", $"{n}", "--batchsize", "50",
            "--presim_len", "4", "--sim_len", $"{steps}", "--plot", tmp["p.png"], "--json", tmp["s.json"], "--predictions", tmp["pred/s.csv"]);
        run.AssertSuccess();
        Assert.That(run.Out, Does.Contain("predictions written to"));
        var (header, rows) = ReadCsv(tmp["pred/s.csv"]);
        string[] expected = ["index", "path", "label", "ann",
            .. Enumerable.Range(1, steps).Select(t => $"plain_t{t}"), .. Enumerable.Range(1, steps).Select(t => $"cos_t{t}")];
        Assert.That(header, Is.EqualTo(expected));
        Assert.That(rows, Has.Length.EqualTo(n));

        var set = Bundled.TestSet();
        for (int i = 0; i < n; i++)
        {
            Assert.That(rows[i][0], Is.EqualTo(i.ToString()));
            Assert.That(rows[i][1], Is.EqualTo(i.ToString()), "an IDX data set has no files: the record number");
            Assert.That(int.Parse(rows[i][2]), Is.EqualTo(set.GetLabel(i)), "labels in data order");
            Assert.That(rows[i].Skip(3).Select(int.Parse), Is.All.InRange(0, 9));
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["s.json"]));
        var root = doc.RootElement;
        double Accuracy(int column) => rows.Count(r => r[column] == r[2]) / (double)n;
        Assert.That(Accuracy(3), Is.EqualTo(root.GetProperty("ann_accuracy").GetDouble()).Within(1e-6));
        var cos = root.GetProperty("accuracy_per_step").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var plain = root.GetProperty("plain_accuracy_per_step").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int t = 0; t < steps; t++)
        {
            Assert.That(Accuracy(4 + t), Is.EqualTo(plain[t]).Within(1e-6), $"plain t = {t + 1}");
            Assert.That(Accuracy(4 + steps + t), Is.EqualTo(cos[t]).Within(1e-6), $"COS t = {t + 1}");
        }
    }

    [Test]
    public void EvalPredictionsHaveTheAnnColumnOnly()
    {
        using var tmp = new TempFolder();
        var run = CliRun.Of("eval", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "80",
            "--json", tmp["e.json"], "--predictions", tmp["e.csv"]);
        run.AssertSuccess();
        var (header, rows) = ReadCsv(tmp["e.csv"]);
        Assert.That(header, Is.EqualTo(new[] { "index", "path", "label", "ann" }));
        Assert.That(rows, Has.Length.EqualTo(80));
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["e.json"]));
        Assert.That(rows.Count(r => r[3] == r[2]) / 80.0, Is.EqualTo(doc.RootElement.GetProperty("ann_accuracy").GetDouble()).Within(1e-6));
    }

    [Test]
    public void SnnWithoutPlotHasOnlyTheCosColumns()
    {
        using var tmp = new TempFolder();
        CliRun.Of("snn", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "10",
            "--presim_len", "2", "--sim_len", "3", "--predictions", tmp["c.csv"]).AssertSuccess();
        Assert.That(ReadCsv(tmp["c.csv"]).Header, Is.EqualTo(new[] { "index", "path", "label", "ann", "cos_t1", "cos_t2", "cos_t3" }));
        CliRun.Of("snn", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "10",
            "--presim_len", "0", "--sim_len", "2", "--predictions", tmp["p.csv"]).AssertSuccess();
        Assert.That(ReadCsv(tmp["p.csv"]).Header, Is.EqualTo(new[] { "index", "path", "label", "ann", "plain_t1", "plain_t2" }));
    }
}
