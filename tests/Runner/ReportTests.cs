using SpikeEngine.Tests.Support;

namespace SpikeEngine.Tests.Runner;

/// <summary>
/// The results tooling (tools/results/): the report command turns snn/eval --json files into the README table,
/// a CSV, a JSON and a PNG with the numbers of the runs; make_results.sh runs every configuration end to end.
/// </summary>
[NonParallelizable]
public class ReportTests
{
    [Test]
    public void ReportTablesTheRunsOfTheJsonFiles()
    {
        Bundled.Require();
        using var tmp = new TempFolder();
        string[] common = ["--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--limit", "60", "--batchsize", "30", "--sim_len", "4"];
        CliRun.Of(["eval", .. common[..8], "--json", tmp["ann.json"]]).AssertSuccess();
        CliRun.Of(["snn", .. common, "--presim_len", "0", "--json", tmp["plain.json"]]).AssertSuccess();
        CliRun.Of(["snn", .. common, "--presim_len", "2", "--iterations", "2", "--json", tmp["cos.json"]]).AssertSuccess();

        var report = CliRun.Of("report", "--out", tmp["out"], "--plot_size", "400x300", tmp["ann.json"], tmp["plain.json"], tmp["cos.json"]);
        report.AssertSuccess();
        using var cos = JsonDocument.Parse(File.ReadAllText(tmp["cos.json"]));
        var c = cos.RootElement;
        var accuracy = c.GetProperty("accuracy_per_step").EnumerateArray().Select(a => a.GetDouble()).ToArray();
        var activity = c.GetProperty("activity");
        double rateAt4 = activity.GetProperty("firing_rate_up_to_step")[3].GetDouble();
        Assert.That(rateAt4, Is.GreaterThan(0).And.LessThan(1));

        var md = File.ReadAllText(Path.Combine(tmp["out"], "results.md"));
        Assert.That(md, Does.Contain("| top-1 % | T = 1 | T = 2 | T = 4 |"));
        Assert.That(md, Does.Contain("| COS ρ = 2, k = 2 | " + string.Join(" | ", new[] { 0, 1, 3 }.Select(i => (100 * accuracy[i]).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))));
        Assert.That(md, Does.Contain("| plain conversion (ρ = 0) |").And.Contain("| ANN (QCFS) |").And.Contain("60 FashionMNIST test images"));
        Assert.That(md, Does.Contain(rateAt4.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) + " · "), "firing rate at T = 4");

        var csv = File.ReadAllLines(Path.Combine(tmp["out"], "results.csv"));
        Assert.That(csv, Has.Length.EqualTo(1 + 3 * 4), "header, then ANN, plain and COS at t = 1..4");
        var row = csv.Single(l => l.StartsWith("cos_rho2_k2,2,2,4,", StringComparison.Ordinal)).Split(',');
        Assert.That(double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(accuracy[3]).Within(1e-6));
        Assert.That(double.Parse(row[6], System.Globalization.CultureInfo.InvariantCulture),
            Is.EqualTo(activity.GetProperty("syn_ops_up_to_step")[3].GetDouble()).Within(1e-6), "SynOps per image at T = 4");

        using var all = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["out"], "results.json")));
        Assert.That(all.RootElement.GetProperty("rows").GetArrayLength(), Is.EqualTo(2));
        Assert.That(all.RootElement.GetProperty("samples").GetInt64(), Is.EqualTo(60));
        var png = File.ReadAllBytes(Path.Combine(tmp["out"], "accuracy_vs_t.png"));
        Assert.That(png[..4], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
    }

    [Test]
    public void ReportRefusesResultsThatDoNotBelongTogether()
    {
        Bundled.Require();
        using var tmp = new TempFolder();
        string[] common = ["snn", "--load_model_name", Bundled.Model, "--datadir", Bundled.Data, "--batchsize", "20", "--sim_len", "2", "--presim_len", "0"];
        CliRun.Of([.. common, "--limit", "20", "--json", tmp["a.json"]]).AssertSuccess();
        CliRun.Of([.. common, "--limit", "40", "--json", tmp["b.json"]]).AssertSuccess();
        CliRun.Of("report", "--out", tmp["o"], tmp["a.json"], tmp["b.json"]).AssertOneLineFailure("b.json", "40", "20", "same checkpoint and test images");
        CliRun.Of("report", "--out", tmp["o"], tmp["a.json"], tmp["a.json"]).AssertOneLineFailure("appears twice");
        File.WriteAllText(tmp["x.json"], "{\"command\": \"info\"}");
        CliRun.Of("report", "--out", tmp["o"], tmp["x.json"]).AssertOneLineFailure("'info' result");
        File.WriteAllText(tmp["bad.json"], "{ not json");
        CliRun.Of("report", "--out", tmp["o"], tmp["bad.json"]).AssertOneLineFailure("bad.json is not valid JSON");
        CliRun.Of("report", tmp["a.json"]).AssertOneLineFailure("report needs --out FOLDER");
        CliRun.Of("report", "--out", tmp["o"], tmp["absent.json"]).AssertOneLineFailure("absent.json not found");
        Assert.That(Directory.Exists(tmp["o"]), Is.False, "nothing written");
    }

    /// <summary>tools/results/make_results.sh end to end on the CIFAR-10 fixture (30 images, T = 4): six runs, then the report.</summary>
    [Test]
    public void MakeResultsRunsEveryConfigurationOnTheCifarFixture()
    {
        var root = TestEnvironment.RequireRepositoryRoot();
        var data = Path.GetDirectoryName(TestEnvironment.RequireData("cifar-10-batches-bin", "test_batch.bin"))!;
        var runner = Path.Combine(AppContext.BaseDirectory, "Runner.dll");
        Assert.That(File.Exists(runner), Is.True, $"{runner}: the test build carries the Runner");
        var fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "cifar10", "resnet20-L4-short.pth");
        using var tmp = new TempFolder();
        var psi = new System.Diagnostics.ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root,
        };
        foreach (var a in new[] { Path.Combine(root, "tools", "results", "make_results.sh"), fixture, data, tmp["out"],
                     "--limit", "30", "--batchsize", "30", "--L", "4", "--dataset", "CIFAR10" })
            psi.ArgumentList.Add(a);
        psi.Environment["RUNNER"] = $"dotnet {runner}";
        psi.Environment["SIM_LEN"] = "4";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(TimeSpan.FromMinutes(15)), Is.True, "make_results.sh did not finish in 15 minutes");
        Assert.That(p.ExitCode, Is.Zero, stdout.Result + stderr.Result);

        var md = File.ReadAllText(tmp["out/results.md"]);
        foreach (var row in new[] { "ANN (QCFS)", "plain conversion (ρ = 0)", "COS ρ = 4, k = 1", "COS ρ = 4, k = 2", "COS ρ = 8, k = 1", "COS ρ = 8, k = 2" })
            Assert.That(md, Does.Contain($"| {row} |"), row);
        Assert.That(md, Does.Contain("30 CIFAR10 test images").And.Contain("firing rate · SynOps · energy vs ANN"));
        foreach (var file in new[] { "results.csv", "results.json", "accuracy_vs_t.png", "ann.json", "cos-rho8-k2.json" })
            Assert.That(File.Exists(tmp[Path.Combine("out", file)]), Is.True, file);
        using var cos = JsonDocument.Parse(File.ReadAllText(tmp["out/cos-rho8-k2.json"]));
        Assert.That(cos.RootElement.GetProperty("presim_len").GetInt32(), Is.EqualTo(8));
        Assert.That(cos.RootElement.GetProperty("iterations").GetInt32(), Is.EqualTo(2));
        Assert.That(cos.RootElement.GetProperty("sim_len").GetInt32(), Is.EqualTo(4));
        Assert.That(cos.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(30));

        // A second call keeps the finished runs and only remakes the report.
        using var again = System.Diagnostics.Process.Start(psi)!;
        var againOut = again.StandardOutput.ReadToEndAsync();
        again.StandardError.ReadToEndAsync();
        Assert.That(again.WaitForExit(TimeSpan.FromMinutes(5)), Is.True);
        Assert.That(again.ExitCode, Is.Zero);
        Assert.That(againOut.Result, Does.Contain("cos-rho8-k2.json exists, kept"));
    }
}
