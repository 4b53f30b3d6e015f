namespace SpikeEngine.Tests.Data;

/// <summary>A temporary folder removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() { Directory.CreateDirectory(Path); }
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "spike-data-" + Guid.NewGuid().ToString("N"));
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

internal static class DataTestUtil
{
    public static string Fixtures => Path.Combine(TestContext.CurrentContext.TestDirectory, "fixtures", "data");

    /// <summary>Writes CIFAR binary records: label byte(s) then 3072 pixels, pixel value = (record·7 + i) mod 256.</summary>
    public static void WriteBinaryRecords(string path, int[][] labels, int firstRecord = 0)
    {
        using var fs = File.Create(path);
        for (int r = 0; r < labels.Length; r++)
        {
            foreach (var l in labels[r]) fs.WriteByte((byte)l);
            for (int i = 0; i < 3072; i++) fs.WriteByte(PixelOf(firstRecord + r, i));
        }
    }

    public static byte PixelOf(int record, int i) => (byte)((record * 7 + i) % 256);

    public static Image Img(int channels, int h, int w, params byte[] pixels) => new(channels, h, w, pixels);

    /// <summary>A Random whose draws are scripted (NextDouble / Next return the queued values, in order).</summary>
    public sealed class ScriptedRandom(params double[] values) : Random
    {
        private readonly Queue<double> _values = new(values);
        public override double NextDouble() => _values.Dequeue();
        public override int Next(int maxValue)
        {
            int v = (int)_values.Dequeue();
            Assert.That(v, Is.InRange(0, maxValue - 1), "scripted draw outside the requested range");
            return v;
        }
        public override int Next(int minValue, int maxValue) => Next(maxValue - minValue) + minValue;
        public int Remaining => _values.Count;
    }
}
