using SpikeEngine.Tests.Support;
using static SpikeEngine.Tests.Data.DataTestUtil;

namespace SpikeEngine.Tests.Data;

public class CifarTests
{
    [Test]
    public void RealCifar10BinaryLoadsAllImagesWithBalancedClasses()
    {
        var realCifar10 = TestEnvironment.RequireData("cifar-10-batches-bin", "data_batch_1.bin");
        // PROVENANCE.txt: most pixels are JPEG-derived, but labels, order and per-class counts are the originals.
        var bundle = Datasets.Load("CIFAR10", realCifar10);
        Assert.That(bundle.Layout, Is.EqualTo("binary"));
        Assert.That(bundle.Train.Count, Is.EqualTo(50_000));
        Assert.That(bundle.Test.Count, Is.EqualTo(10_000));
        Assert.That(bundle.Train.ClassNames, Is.EqualTo(Cifar.Cifar10ClassNames));
        var train = (InMemoryImageDataset)bundle.Train;
        var test = (InMemoryImageDataset)bundle.Test;
        var trainCounts = new int[10];
        foreach (var l in train.Labels) trainCounts[l]++;
        var testCounts = new int[10];
        foreach (var l in test.Labels) testCounts[l]++;
        Assert.That(trainCounts, Is.All.EqualTo(5000));
        Assert.That(testCounts, Is.All.EqualTo(1000));
        // Published per-class counts of data_batch_1 (original order kept, per PROVENANCE.txt).
        var batch1 = new int[10];
        for (int i = 0; i < 10_000; i++) batch1[train.Labels[i]]++;
        Assert.That(batch1, Is.EqualTo(new[] { 1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981 }));
        Assert.That(bundle.Normalization, Is.SameAs(Normalization.Cifar10));
        Assert.That(bundle.TrainTensorTransform, Is.InstanceOf<Cutout>().With.Property("Length").EqualTo(16));
        // The image is the record's bytes after the label.
        using (var fs = File.OpenRead(Path.Combine(realCifar10, "test_batch.bin")))
        {
            var record = new byte[3073];
            fs.Seek(3073L * 5, SeekOrigin.Begin);
            fs.ReadExactly(record);
            Assert.That(test.GetLabel(5), Is.EqualTo(record[0]));
            Assert.That(test.GetImage(5).Pixels, Is.EqualTo(record[1..]));
        }
    }

    [Test]
    public void Cifar10BinaryWrittenByTestLoadsFromParentFolder()
    {
        using var tmp = new TempDir();
        var dir = Directory.CreateDirectory(tmp["cifar-10-batches-bin"]).FullName;
        for (int b = 1; b <= 5; b++)
            WriteBinaryRecords(Path.Combine(dir, $"data_batch_{b}.bin"), [[b], [9 - b]], firstRecord: 2 * (b - 1));
        WriteBinaryRecords(Path.Combine(dir, "test_batch.bin"), [[3], [4], [5]]);
        File.WriteAllText(Path.Combine(dir, "batches.meta.txt"), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n");
        var bundle = Datasets.Load("cifar-10", tmp.Path);
        Assert.That(bundle.Folder, Is.EqualTo(dir));
        Assert.That(bundle.Train.Count, Is.EqualTo(10));
        Assert.That(bundle.Test.Count, Is.EqualTo(3));
        Assert.That(Enumerable.Range(0, 10).Select(bundle.Train.GetLabel), Is.EqualTo(new[] { 1, 8, 2, 7, 3, 6, 4, 5, 5, 4 }));
        Assert.That(bundle.Train.ClassNames, Is.EqualTo(new[] { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" }));
        var img = bundle.Train.GetImage(7);
        Assert.That((img.Channels, img.Height, img.Width), Is.EqualTo((3, 32, 32)));
        Assert.That(img.Pixels, Is.EqualTo(Enumerable.Range(0, 3072).Select(i => PixelOf(7, i)).ToArray()));
        // Channel-first: pixel (c=1, y=2, x=3) is byte 1024 + 2·32 + 3 of the record.
        Assert.That(img[1, 2, 3], Is.EqualTo(PixelOf(7, 1024 + 67)));
    }

    [Test]
    public void Cifar100BinaryReadsFineAndCoarseLabels()
    {
        using var tmp = new TempDir();
        var dir = Directory.CreateDirectory(tmp["cifar-100-binary"]).FullName;
        WriteBinaryRecords(Path.Combine(dir, "train.bin"), [[19, 99], [0, 42], [7, 0]]);
        WriteBinaryRecords(Path.Combine(dir, "test.bin"), [[1, 2]]);
        File.WriteAllLines(Path.Combine(dir, "fine_label_names.txt"), Enumerable.Range(0, 100).Select(i => $"fine{i}"));
        File.WriteAllLines(Path.Combine(dir, "coarse_label_names.txt"), Enumerable.Range(0, 20).Select(i => $"coarse{i}"));
        var fine = Cifar.LoadCifar100Binary(dir, train: true);
        Assert.That(Enumerable.Range(0, 3).Select(fine.GetLabel), Is.EqualTo(new[] { 99, 42, 0 }));
        Assert.That(fine.ClassNames[42], Is.EqualTo("fine42"));
        var coarse = Cifar.LoadCifar100Binary(dir, train: true, coarse: true);
        Assert.That(Enumerable.Range(0, 3).Select(coarse.GetLabel), Is.EqualTo(new[] { 19, 0, 7 }));
        Assert.That(coarse.ClassNames.Count, Is.EqualTo(20));
        Assert.That(fine.GetImage(2).Pixels, Is.EqualTo(Enumerable.Range(0, 3072).Select(i => PixelOf(2, i)).ToArray()));
        var bundle = Datasets.Load("CIFAR100", tmp.Path);
        Assert.That((bundle.Layout, bundle.Test.Count, bundle.Classes), Is.EqualTo(("binary", 1, 100)));
        Assert.That(bundle.Normalization, Is.SameAs(Normalization.Cifar100));
        Assert.That(((Cutout)bundle.TrainTensorTransform!).Length, Is.EqualTo(8));
    }

    [Test]
    public void Cifar10PythonPickleLayoutMatchesNumpyWrittenFixture()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "cifar_python_expected.json")));
        var bundle = Datasets.Load("CIFAR10", Fixtures);
        Assert.That(bundle.Layout, Is.EqualTo("python"));
        var train = (InMemoryImageDataset)bundle.Train;
        var expectedLabels = new List<int>();
        long expectedSum = 0;
        foreach (var name in Cifar.Cifar10PythonTrainFiles)
        {
            var e = doc.RootElement.GetProperty("cifar10/" + name);
            expectedLabels.AddRange(e.GetProperty("labels").EnumerateArray().Select(x => x.GetInt32()));
            expectedSum += e.GetProperty("pixel_sum").GetInt64();
        }
        Assert.That(train.Labels.ToArray(), Is.EqualTo(expectedLabels));
        long sum = 0;
        for (int i = 0; i < train.Count; i++) sum += train.GetImage(i).Pixels.Sum(b => (long)b);
        Assert.That(sum, Is.EqualTo(expectedSum));
        var first = doc.RootElement.GetProperty("cifar10/data_batch_1").GetProperty("first").EnumerateArray().Select(x => (byte)x.GetInt32());
        Assert.That(train.GetImage(0).Pixels.Take(8), Is.EqualTo(first));
        var test = doc.RootElement.GetProperty("cifar10/test_batch");
        Assert.That(Enumerable.Range(0, bundle.Test.Count).Select(bundle.Test.GetLabel),
            Is.EqualTo(test.GetProperty("labels").EnumerateArray().Select(x => x.GetInt32())));
        Assert.That(bundle.Train.ClassNames, Is.EqualTo(Cifar.Cifar10ClassNames));
    }

    [Test]
    public void Cifar100PythonPickleLayoutReadsFineCoarseAndMeta()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "cifar_python_expected.json")));
        var dir = Path.Combine(Fixtures, "cifar-100-python");
        var e = doc.RootElement.GetProperty("cifar100/train");
        var fine = Cifar.LoadCifar100Python(dir, train: true);
        Assert.That(fine.Labels.ToArray(), Is.EqualTo(e.GetProperty("fine").EnumerateArray().Select(x => x.GetInt32())));
        Assert.That(fine.ClassNames[7], Is.EqualTo("class07"));
        var coarse = Cifar.LoadCifar100Python(dir, train: true, coarse: true);
        Assert.That(coarse.Labels.ToArray(), Is.EqualTo(e.GetProperty("coarse").EnumerateArray().Select(x => x.GetInt32())));
        Assert.That(coarse.ClassNames[19], Is.EqualTo("super19"));
        long sum = 0;
        for (int i = 0; i < fine.Count; i++) sum += fine.GetImage(i).Pixels.Sum(b => (long)b);
        Assert.That(sum, Is.EqualTo(e.GetProperty("pixel_sum").GetInt64()));
        Assert.That(Datasets.Load("CIFAR100", Fixtures).Layout, Is.EqualTo("python"));
        // The test file stores its coarse labels as an int64 numpy array.
        var coarseTest = Cifar.LoadCifar100Python(dir, train: false, coarse: true);
        Assert.That(coarseTest.Labels.ToArray(),
            Is.EqualTo(doc.RootElement.GetProperty("cifar100/test").GetProperty("coarse").EnumerateArray().Select(x => x.GetInt32())));
    }

    [Test]
    public void TruncatedBinaryFileIsRejectedNamingIt()
    {
        using var tmp = new TempDir();
        for (int b = 1; b <= 5; b++) WriteBinaryRecords(tmp[$"data_batch_{b}.bin"], [[1]]);
        WriteBinaryRecords(tmp["test_batch.bin"], [[1], [2]]);
        using (var fs = new FileStream(tmp["data_batch_3.bin"], FileMode.Open)) fs.SetLength(3073 - 100);
        var ex = Assert.Throws<InvalidDataException>(() => Cifar.LoadCifar10Binary(tmp.Path, train: true));
        Assert.That(ex!.Message, Does.Contain("data_batch_3.bin").And.Contain("truncated"));
        // A CIFAR-100 file (3074-byte records) read as CIFAR-10 is the wrong size too.
        WriteBinaryRecords(tmp["test_batch.bin"], [[1, 2], [3, 4], [5, 6]]);
        ex = Assert.Throws<InvalidDataException>(() => Cifar.LoadCifar10Binary(tmp.Path, train: false));
        Assert.That(ex!.Message, Does.Contain("test_batch.bin"));
    }

    [Test]
    public void BadLabelMissingFileAndMissingFolderGiveClearErrors()
    {
        using var tmp = new TempDir();
        WriteBinaryRecords(tmp["test_batch.bin"], [[1], [10]]);
        var ex = Assert.Throws<InvalidDataException>(() => Cifar.LoadCifar10Binary(tmp.Path, train: false));
        Assert.That(ex!.Message, Does.Contain("test_batch.bin").And.Contain("record 1").And.Contain("label 10"));
        var missing = Assert.Throws<FileNotFoundException>(() => Cifar.LoadCifar10Binary(tmp.Path, train: true));
        Assert.That(missing!.Message, Does.Contain("data_batch_1.bin"));
        var nowhere = Path.Combine(tmp.Path, "nope");
        var dirEx = Assert.Throws<DirectoryNotFoundException>(() => Datasets.Load("CIFAR10", nowhere));
        Assert.That(dirEx!.Message, Does.Contain(nowhere).And.Contain("cs.toronto.edu").And.Contain("cifar-10-batches-bin").And.Contain("--download"));
        var emptyEx = Assert.Throws<DirectoryNotFoundException>(() => Datasets.Load("CIFAR100", tmp.Path));
        Assert.That(emptyEx!.Message, Does.Contain("cifar-100-binary").And.Contain("--download"));
        var imagenet = Assert.Throws<DirectoryNotFoundException>(() => Datasets.Load("ImageNet", tmp.Path));
        Assert.That(imagenet!.Message, Does.Contain("train/<class>"));
    }

    [Test]
    public void DamagedPickleFilesAreRejectedNamingThem()
    {
        using var tmp = new TempDir();
        foreach (var f in Directory.GetFiles(Path.Combine(Fixtures, "cifar-10-batches-py")))
            File.Copy(f, tmp[Path.GetFileName(f)]);
        var bytes = File.ReadAllBytes(tmp["data_batch_2"]);
        File.WriteAllBytes(tmp["data_batch_2"], bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => Cifar.LoadCifar10Python(tmp.Path, train: true));
        Assert.That(ex!.Message, Does.Contain("data_batch_2"));
        File.WriteAllBytes(tmp["test_batch"], "not a pickle at all"u8.ToArray());
        ex = Assert.Throws<InvalidDataException>(() => Cifar.LoadCifar10Python(tmp.Path, train: false));
        Assert.That(ex!.Message, Does.Contain("test_batch"));
    }

    [Test]
    public void FashionMnistAndMnistLoadThroughDatasets()
    {
        var bundle = Datasets.Load("FashionMNIST", TestEnvironment.RequireFashionMnist("train-images-idx3-ubyte.gz"));
        Assert.That((bundle.Train.Count, bundle.Test.Count, bundle.Classes), Is.EqualTo((60_000, 10_000, 10)));
        Assert.That(bundle.Normalization, Is.SameAs(Normalization.FashionMnist));
    }

    private static void WriteIdxGz(string path, int magic, int[] dims, byte[] data)
    {
        using var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest);
        var header = new byte[4 + 4 * dims.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        gz.Write(header);
        gz.Write(data);
    }

    [Test]
    public void MnistIsFoundInTorchvisionRawFolder()
    {
        using var tmp = new TempDir();
        var raw = Directory.CreateDirectory(tmp["MNIST/raw"]).FullName;
        foreach (var (prefix, n) in new[] { ("train", 3), ("t10k", 2) })
        {
            WriteIdxGz(Path.Combine(raw, $"{prefix}-images-idx3-ubyte.gz"), 0x803, [n, 2, 2], Enumerable.Range(0, n * 4).Select(i => (byte)i).ToArray());
            WriteIdxGz(Path.Combine(raw, $"{prefix}-labels-idx1-ubyte.gz"), 0x801, [n], Enumerable.Range(0, n).Select(i => (byte)(9 - i)).ToArray());
        }
        var mnist = Datasets.Load("MNIST", tmp.Path);
        Assert.That((mnist.Layout, mnist.Train.Count, mnist.Test.Count), Is.EqualTo(("idx", 3, 2)));
        Assert.That(mnist.Test.GetLabel(1), Is.EqualTo(8));
        Assert.That(mnist.Train.GetImage(2).Pixels, Is.EqualTo(new byte[] { 8, 9, 10, 11 }));
        Assert.That(mnist.Train.ClassNames, Is.EqualTo(FashionMnist.DigitNames));
        Assert.That(mnist.Normalization, Is.SameAs(Normalization.Mnist));
    }
}
