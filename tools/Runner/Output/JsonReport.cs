using System.Text.Json;
using System.Text.Json.Nodes;
using SpikeEngine.IO;

namespace SpikeEngine.Runner.Output;

/// <summary>Writes a command's results as one indented JSON object, atomically.</summary>
public static class JsonReport
{
    public static void Write(string path, JsonObject report)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            report.WriteTo(writer);
        });
    }

    public static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(Round(v))).ToArray());

    /// <summary>Rounds to 6 decimals so accuracies print as 0.9012 rather than 0.90119999...</summary>
    public static double Round(double v) => Math.Round(v, 6);
}
