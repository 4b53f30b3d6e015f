using SpikeEngine.Tensors;

namespace SpikeEngine.Backend;

/// <summary>
/// A backend that runs training-mode BatchNorm followed by QCFS (the conv → BN → QCFS of every model) as one
/// operation, without writing the BN output: forward y = QCFS(BN(x)); backward recomputes BN(x) from x and the
/// saved statistics. Same results as <see cref="IBackend.BatchNormForwardTraining"/> then
/// <see cref="IBackend.QcfsForward"/> (and their backward rules), up to the summation order of dλ. Backends without
/// it (CUDA) run the two operations (Autograd.Functional.BatchNormQcfs decides).
/// </summary>
public interface IFusedNormQcfs
{
    void BatchNormQcfsForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float momentum, float eps,
        Tensor lambda, int levels, Tensor y, Tensor saveMean, Tensor saveInvStd);

    void BatchNormQcfsBackward(Tensor dy, Tensor x, Tensor gamma, Tensor beta, Tensor saveMean, Tensor saveInvStd, Tensor lambda, int levels,
        Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dlambda);
}
