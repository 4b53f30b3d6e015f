using System.Globalization;
using System.Text;
using SpikeEngine.IO;
using SpikeEngine.Snn;

namespace SpikeEngine.Workflows;

/// <summary>
/// Per-image predictions as CSV, for error analysis: one row per image in data order with the columns
/// <c>index</c> (position in the evaluated split), <c>path</c> (the image file, or the data set's record number),
/// <c>label</c>, <c>ann</c>, then per SNN run made <c>NAME_t1..NAME_tT</c> (NAME = plain or cos): the predicted class
/// of the cumulative output after each step t (argmax, ties → the lowest class).
/// </summary>
public static class PredictionsCsv
{
    public static string Header(PredictionTable table)
    {
        var columns = new List<string> { "index", "path", "label", "ann" };
        foreach (var run in Ordered(table))
            columns.AddRange(Enumerable.Range(1, run.PerStep.Length).Select(t => $"{run.Name}_t{t}"));
        return string.Join(",", columns);
    }

    /// <summary>Writes the table (atomically); <paramref name="data"/> names each image.</summary>
    public static void Write(string path, PredictionTable table, ImageSplit data)
    {
        var inv = CultureInfo.InvariantCulture;
        AtomicFile.Write(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(Header(table));
            var row = new StringBuilder();
            for (int i = 0; i < table.Indices.Length; i++)
            {
                row.Clear();
                row.Append(i.ToString(inv)).Append(',').Append(Quote(data.RecordName(table.Indices[i]))).Append(',')
                    .Append(table.Labels[i].ToString(inv)).Append(',').Append(table.Ann[i].ToString(inv));
                foreach (var run in Ordered(table))
                    foreach (var step in run.PerStep)
                        row.Append(',').Append(step[i].ToString(inv));
                w.WriteLine(row);
            }
        });
    }

    /// <summary>Plain conversion's columns before COS's, whatever order the runs were made in.</summary>
    private static IEnumerable<RunPredictions> Ordered(PredictionTable table) =>
        table.Runs.OrderBy(r => r.Name.StartsWith("plain", StringComparison.Ordinal) ? 0 : 1);

    /// <summary>RFC 4180 quoting for a field holding a comma, quote or line break (file names may).</summary>
    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
