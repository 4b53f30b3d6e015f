using System.Globalization;
using System.Text;
using SpikeEngine.IO;

namespace SpikeEngine.Training;

/// <summary>
/// The per-epoch training curve beside the checkpoints: SaveDir/training_log.csv, one row per finished epoch
/// (epoch, learning rate at the epoch's last batch, mean training loss, training and test accuracy, test top-5,
/// wall seconds). Rewritten atomically after every epoch; a resumed run keeps the rows of the epochs it resumes
/// from, so a run split into several parts still has one continuous curve.
/// </summary>
public static class TrainingLog
{
    public const string FileName = "training_log.csv";
    public const string Header = "epoch,learning_rate,train_loss,train_accuracy,test_accuracy,test_top5,seconds";

    public sealed record Row(int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy,
        double TestAccuracy, double TestTop5, double Seconds);

    public static Row Of(EpochResult e) =>
        new(e.Epoch, e.LearningRate, e.TrainLoss, e.TrainAccuracy, e.Test.Top1, e.Test.Top5, e.Duration.TotalSeconds);

    /// <summary>The rows of an existing log; a missing file is an empty log, a damaged one a clear error.</summary>
    public static List<Row> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != Header)
            throw new InvalidDataException($"{path}: not a training log (expected the header '{Header}').");
        var rows = new List<Row>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            double D(int k) => double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new InvalidDataException($"{path}, line {i + 1}: field {k + 1} '{f[k]}' is not a number.");
            if (f.Length != 7 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch))
                throw new InvalidDataException($"{path}, line {i + 1}: expected 7 comma-separated fields starting with the epoch number.");
            rows.Add(new Row(epoch, D(1), D(2), D(3), D(4), D(5), D(6)));
        }
        return rows;
    }

    /// <summary>
    /// The logs of a run trained in phases (train --init_from the previous phase's checkpoint), in order, as one
    /// curve: each phase's epochs renumbered to follow the previous phase's last. Also returns the first epoch of
    /// every phase after the first (where the curve restarts). An empty log is an error naming its file.
    /// </summary>
    public static (List<Row> Rows, List<int> PhaseStarts) Concatenate(IReadOnlyList<string> paths)
    {
        var rows = new List<Row>();
        var starts = new List<int>();
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: training log not found.", path);
            var phase = Read(path);
            if (phase.Count == 0) throw new InvalidDataException($"{path}: the training log has no epochs.");
            int offset = rows.Count;
            if (offset > 0) starts.Add(offset + 1);
            rows.AddRange(phase.Select((r, i) => r with { Epoch = offset + i + 1 }));
        }
        return (rows, starts);
    }

    public static void Write(string path, IEnumerable<Row> rows)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
            text.Append(string.Join(',', r.Epoch.ToString(CultureInfo.InvariantCulture),
                F(r.LearningRate), F(r.TrainLoss), F(r.TrainAccuracy), F(r.TestAccuracy), F(r.TestTop5),
                r.Seconds.ToString("0.0##", CultureInfo.InvariantCulture))).Append('\n');
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
