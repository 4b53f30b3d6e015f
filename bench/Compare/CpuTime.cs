using System.Diagnostics;

namespace SpikeEngine.Bench.Compare;

internal static class CpuTime
{
    /// <summary>Process CPU time (all threads) of one call, in ms: steadier than wall time on a shared, loaded machine.</summary>
    public static double Of(Action body)
    {
        var process = Process.GetCurrentProcess();
        var start = process.TotalProcessorTime;
        body();
        process.Refresh();
        return (process.TotalProcessorTime - start).TotalMilliseconds;
    }
}
