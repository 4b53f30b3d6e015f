using SpikeEngine.Autograd;
using SpikeEngine.Distributed;
using SpikeEngine.Nn;
using SpikeEngine.Tensors;

namespace SpikeEngine.Training;

/// <summary>One optimisation step: forward, cross-entropy, backward, SGD update, graph release.</summary>
public static class TrainingStep
{
    /// <summary>The loss of the batch and how many rows the model got right (top-1) before the update.</summary>
    public readonly record struct Result(float Loss, int Correct);

    /// <summary>
    /// Runs one step on <paramref name="images"/> (already on the model's device). The loss is checked
    /// before the update: a NaN or infinite loss throws <see cref="NonFiniteLossException"/> and leaves the parameters untouched.
    /// With <paramref name="parallel"/> (data-parallel training) the gradients are averaged over the ranks before the update.
    /// <paramref name="labelSmoothing"/> ε trains against (1 − ε)·onehot + ε/classes; the returned loss is that smoothed loss.
    /// </summary>
    public static Result Run(Module model, Sgd sgd, Tensor images, int[] labels, DataParallel? parallel = null, float labelSmoothing = 0f)
    {
        sgd.ZeroGrad();
        var logits = model.Forward(images);
        var loss = F.SoftmaxCrossEntropy(logits, labels, labelSmoothing);
        try
        {
            float value = loss.Item();
            if (!float.IsFinite(value)) throw new NonFiniteLossException(value);
            int correct = Metrics.CountTopK(logits, labels, 1);
            Grad.Backward(loss);
            parallel?.AverageGradients(model);
            sgd.Step();
            parallel?.AfterStep(model);
            return new Result(value, correct);
        }
        finally
        {
            Grad.ReleaseGraph(loss);
        }
    }
}

/// <summary>The training loss became NaN or infinite.</summary>
public sealed class NonFiniteLossException(float loss, string? where = null)
    : Exception($"Training diverged: the loss is {loss}{(where is null ? "" : " at " + where)}. Lower the learning rate or check the input data.")
{
    public float Loss { get; } = loss;
}
