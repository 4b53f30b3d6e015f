using SpikeEngine.Tensors;

namespace SpikeEngine.Backend.Cpu;

// Placeholders, replaced by the CPU kernel work (each moved to its own CpuBackend.<Family>.cs).
public sealed partial class CpuBackend
{
    public void Add(Tensor a, Tensor b, Tensor y) => throw new NotImplementedException();
    public void Mul(Tensor a, Tensor b, Tensor y) => throw new NotImplementedException();
    public void Axpy(float alpha, Tensor x, Tensor y) => throw new NotImplementedException();
    public void Scale(Tensor x, float alpha, Tensor y) => throw new NotImplementedException();
    public double Sum(Tensor x) => throw new NotImplementedException();
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, int aOffset, int lda, Tensor b, int bOffset, int ldb, float beta, Tensor c, int cOffset, int ldc) => throw new NotImplementedException();
    public void LinearForward(Tensor x, Tensor w, Tensor? bias, Tensor y) => throw new NotImplementedException();
    public void LinearBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias) => throw new NotImplementedException();
    public void Conv2dForward(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g) => throw new NotImplementedException();
    public void Conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g) => throw new NotImplementedException();
    public void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Tensor? dbias, Conv2dGeometry g) => throw new NotImplementedException();
    public void BatchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) => throw new NotImplementedException();
    public void BatchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps, Tensor y) => throw new NotImplementedException();
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dgamma, Tensor dbeta) => throw new NotImplementedException();
    public void AvgPool2dForward(Tensor x, Tensor y, Pool2dGeometry g) => throw new NotImplementedException();
    public void AvgPool2dBackward(Tensor dy, Tensor dx, Pool2dGeometry g) => throw new NotImplementedException();
    public void GlobalAvgPoolForward(Tensor x, Tensor y) => throw new NotImplementedException();
    public void GlobalAvgPoolBackward(Tensor dy, Tensor dx) => throw new NotImplementedException();
    public void QcfsForward(Tensor x, Tensor lambda, int levels, Tensor y) => throw new NotImplementedException();
    public void QcfsBackward(Tensor dy, Tensor x, Tensor lambda, int levels, Tensor dx, Tensor dlambda) => throw new NotImplementedException();
    public void DropoutForward(Tensor x, float p, ulong seed, Tensor y, Tensor mask) => throw new NotImplementedException();
    public float SoftmaxCrossEntropy(Tensor logits, ReadOnlySpan<int> labels, Tensor? dlogits) => throw new NotImplementedException();
    public void ArgMax(Tensor x, Span<int> indices) => throw new NotImplementedException();
    public void TopKCorrect(Tensor x, ReadOnlySpan<int> labels, int k, Span<bool> correct) => throw new NotImplementedException();
    public void SgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float weightDecay, bool firstStep) => throw new NotImplementedException();
}
