using SpikeEngine.IO;
using SpikeEngine.Runner.Cli;

namespace SpikeEngine.Runner.Output;

/// <summary>Accuracy (%) against time step: the ANN as a horizontal line, SNN runs (plain conversion, COS) as curves.</summary>
public static class AccuracyPlot
{
    public static void Write(string path, int width, int height, string title, double? annAccuracy,
        double[]? plainPerStep, double[]? cosPerStep, int presimLen)
    {
        var curves = new List<(string, double[])>();
        if (plainPerStep is { Length: > 0 }) curves.Add(("plain conversion (ρ = 0)", plainPerStep));
        if (cosPerStep is { Length: > 0 }) curves.Add(($"COS (ρ = {presimLen})", cosPerStep));
        Write(path, width, height, title, annAccuracy, curves);
    }

    /// <summary>One curve per (legend label, accuracy at t = 1..T as fractions), the ANN line when given; PNG written atomically.</summary>
    public static void Write(string path, int width, int height, string title, double? annAccuracy,
        IEnumerable<(string Label, double[] PerStep)> curves)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.XLabel("time step t");
        plot.YLabel("top-1 accuracy (%)");
        foreach (var (label, perStep) in curves) AddCurve(plot, perStep, label);
        if (annAccuracy is double ann)
        {
            var line = plot.Add.HorizontalLine(ann * 100);
            line.LegendText = $"ANN ({ann * 100:F2} %)";
            line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        var png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>Parses --plot_size WIDTHxHEIGHT.</summary>
    public static (int Width, int Height) ParseSize(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out var w) && int.TryParse(parts[1], out var h)
            && w is >= 100 and <= 10000 && h is >= 100 and <= 10000)
            return (w, h);
        throw new CliError($"--plot_size '{text}' is not WIDTHxHEIGHT with each between 100 and 10000 (e.g. 800x500).");
    }

    private static void AddCurve(ScottPlot.Plot plot, double[] perStep, string label)
    {
        var xs = Enumerable.Range(1, perStep.Length).Select(t => (double)t).ToArray();
        var ys = perStep.Select(a => a * 100).ToArray();
        var curve = plot.Add.Scatter(xs, ys);
        curve.LegendText = label;
    }
}
