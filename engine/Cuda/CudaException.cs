namespace SpikeEngine.Cuda;

/// <summary>A failed CUDA driver, cuBLAS or cuDNN call: names the call and the status (name and description).</summary>
public sealed class CudaException(string call, int status, string statusName, string? description = null)
    : Exception($"{call} failed: {statusName} ({status}){(string.IsNullOrEmpty(description) ? "" : ": " + description)}")
{
    /// <summary>The library function that failed, e.g. "cuMemAlloc_v2".</summary>
    public string Call { get; } = call;
    public int Status { get; } = status;
    public string StatusName { get; } = statusName;
}

/// <summary>CUDA cannot be used here (no driver, no device, kernels not built); the message is one line that says why.</summary>
public sealed class CudaUnavailableException : Exception
{
    public CudaUnavailableException(string reason, Exception? inner = null) : base(reason, inner) { }
}
