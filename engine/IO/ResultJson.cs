using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SpikeEngine.IO;

/// <summary>
/// The one JSON form of the engine's result records (evaluations, diagnostics, training outcomes, checkpoint
/// summaries): snake_case names, indented, accuracies and timings rounded to 6 decimals where a record says so
/// (<see cref="Rounded"/>), so 0.9012 prints as 0.9012 rather than 0.90119999…. The Runner's --json files are
/// these objects with the command's context (command, dataset, checkpoint, …) around them.
/// </summary>
public static class ResultJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static JsonObject ToObject<T>(T value) =>
        JsonSerializer.SerializeToNode(value, Options) as JsonObject
        ?? throw new ArgumentException($"{typeof(T).Name} does not serialise to a JSON object.");

    /// <summary>Writes <paramref name="report"/> as one indented JSON object, atomically.</summary>
    public static void Write(string path, JsonObject report)
    {
        AtomicFile.Write(path, stream =>
        {
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                report.WriteTo(writer);
            stream.WriteByte((byte)'\n');
        });
    }

    public static double Round(double v) => Math.Round(v, 6);

    /// <summary>A double written rounded to 6 decimals (fractions and timings).</summary>
    public sealed class Rounded : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();
        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => WriteRounded(writer, value);
    }

    /// <summary>An array of doubles written rounded to 6 decimals.</summary>
    public sealed class RoundedArray : JsonConverter<double[]>
    {
        public override double[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonSerializer.Deserialize<double[]>(ref reader) ?? [];

        public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            foreach (var v in value) WriteRounded(writer, v);
            writer.WriteEndArray();
        }
    }

    private static void WriteRounded(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(Round(value));
        else writer.WriteStringValue(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
