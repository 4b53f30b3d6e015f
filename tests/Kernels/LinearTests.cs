using static SpikeEngine.Tests.Kernels.KernelTestKit;

namespace SpikeEngine.Tests.Kernels;

public class LinearTests
{
    [TestCase(1, 1, 1)]
    [TestCase(1, 17, 5)]
    [TestCase(7, 33, 10)]
    [TestCase(64, 128, 10)]
    [TestCase(3, 200, 67)]
    public void ForwardAndBackwardMatchReference(int n, int inF, int outF)
    {
        var rng = new Random(n * 31 + inF);
        var x = Uniform(rng, n * inF); var w = Uniform(rng, outF * inF); var b = Uniform(rng, outF); var r = Uniform(rng, n * outF);
        double[] xd = D(x), wd = D(w), bd = D(b), rd = D(r);
        foreach (int threads in new[] { 1, 2 })
        {
            var be = Cpu(threads);
            using var tx = T(x, n, inF); using var tw = T(w, outF, inF); using var tb = T(b, outF); using var tr = T(r, n, outF);
            using var ty = T(new float[n * outF], n, outF);
            be.LinearForward(tx, tw, tb, ty);
            AssertClose(ty.Span, ReferenceOps.Linear(xd, wd, bd, n, inF, outF), 1e-4, 1e-5 * Math.Sqrt(inF), "linear y");
            be.LinearForward(tx, tw, null, ty);
            AssertClose(ty.Span, ReferenceOps.Linear(xd, wd, null, n, inF, outF), 1e-4, 1e-5 * Math.Sqrt(inF), "linear y (no bias)");

            using var dx = T(new float[n * inF], n, inF); using var dw = T(new float[outF * inF], outF, inF); using var db = T(new float[outF], outF);
            dw.Span.Fill(float.NaN); db.Span.Fill(float.NaN);
            be.LinearBackward(tx, tw, tr, dx, dw, db);
            Func<double[], double[], double[], double> loss = (xs, ws, bs) => Dot(rd, ReferenceOps.Linear(xs, ws, bs, n, inF, outF));
            AssertClose(dx.Span, FiniteDifference(xs => loss(xs, wd, bd), (double[])xd.Clone(), 1e-3), 1e-4, 1e-5 * Math.Sqrt(outF), "linear dx");
            AssertClose(dw.Span, FiniteDifference(ws => loss(xd, ws, bd), (double[])wd.Clone(), 1e-3), 1e-4, 1e-5 * Math.Sqrt(n), "linear dw");
            AssertClose(db.Span, FiniteDifference(bs => loss(xd, wd, bs), (double[])bd.Clone(), 1e-3), 1e-4, 1e-5 * Math.Sqrt(n), "linear dbias");
            // Any gradient may be skipped: each one asked for alone is the same as when all three are.
            var (fullDx, fullDw, fullDb) = (dx.ToArray(), dw.ToArray(), db.ToArray());
            dw.Span.Fill(float.NaN);
            be.LinearBackward(tx, tw, tr, null, dw, null);
            Assert.That(dw.ToArray(), Is.EqualTo(fullDw), "dw alone");
            dx.Span.Fill(float.NaN);
            be.LinearBackward(tx, tw, tr, dx, null, null);
            Assert.That(dx.ToArray(), Is.EqualTo(fullDx), "dx alone");
            db.Span.Fill(float.NaN);
            be.LinearBackward(tx, tw, tr, null, null, db);
            Assert.That(db.ToArray(), Is.EqualTo(fullDb), "dbias alone");
        }
    }
}
