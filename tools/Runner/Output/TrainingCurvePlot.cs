using SpikeEngine.IO;
using SpikeEngine.Training;

namespace SpikeEngine.Runner.Output;

/// <summary>The training curve: training and test top-1 accuracy (%) on the left axis, mean training loss on the right, per epoch.</summary>
public static class TrainingCurvePlot
{
    /// <param name="phaseStarts">First epochs of later training phases (warm restarts): drawn as dotted vertical lines.</param>
    /// <param name="averages">Test accuracies (fractions) of weight averages (train --swa_epochs), each drawn as a star at the
    /// last epoch it averages: the model such a phase hands on is that average, not its last epoch.</param>
    public static void Write(string path, int width, int height, string title, IReadOnlyList<TrainingLog.Row> rows,
        IReadOnlyList<int>? phaseStarts = null, IReadOnlyList<(int Epoch, double Accuracy)>? averages = null)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("top-1 accuracy (%)");
        plot.Axes.Right.Label.Text = "training loss";
        double[] epochs = rows.Select(r => (double)r.Epoch).ToArray();
        var test = plot.Add.Scatter(epochs, rows.Select(r => r.TestAccuracy * 100).ToArray());
        test.LegendText = "test accuracy";
        var train = plot.Add.Scatter(epochs, rows.Select(r => r.TrainAccuracy * 100).ToArray());
        train.LegendText = "training accuracy";
        var loss = plot.Add.Scatter(epochs, rows.Select(r => r.TrainLoss).ToArray());
        loss.LegendText = "training loss (right axis)";
        loss.LinePattern = ScottPlot.LinePattern.Dashed;
        loss.Axes.YAxis = plot.Axes.Right;
        if (averages is { Count: > 0 })
        {
            var swa = plot.Add.Scatter(averages.Select(a => (double)a.Epoch).ToArray(), averages.Select(a => a.Accuracy * 100).ToArray());
            swa.LegendText = "weight average (SWA), test";
            swa.LineWidth = 0;
            swa.MarkerShape = ScottPlot.MarkerShape.FilledDiamond;
            swa.MarkerSize = 12;
            swa.Color = ScottPlot.Colors.Red;
        }
        foreach (int start in phaseStarts ?? [])
        {
            var line = plot.Add.VerticalLine(start - 0.5);
            line.LinePattern = ScottPlot.LinePattern.Dotted;
            line.Color = ScottPlot.Colors.Gray;
        }
        plot.ShowLegend(ScottPlot.Edge.Bottom); // outside the data: a fine-tune phase's low loss sits in the lower right
        var png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
