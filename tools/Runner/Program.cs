// The SpikeEngine command-line front door (see tools/Runner/README.md).
using System.Runtime.InteropServices;
using SpikeEngine.Runner.Cli;

using var cancel = new CancellationTokenSource();
// Only training stops gracefully (it keeps its last good checkpoint); other commands end at once on Ctrl-C.
// Under mpirun/srun a signal ends the process at once instead: each rank would stop after its own current batch while
// the others wait in that batch's all-reduce; ending at once lets the launcher end them all (the last checkpoint, written
// atomically, is kept).
bool training = (args.Length > 0 && args[0] == "train" || args.Contains("--direct_training")) && !SpikeEngine.Distributed.Launch.Launched();
if (training) Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
    e.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("Interrupt: stopping after the current batch and keeping the last good checkpoint (Ctrl-C again to abort).");
};
// SIGTERM (kill, a batch scheduler's time limit) stops training the same way: after the current batch, checkpoint kept.
using var terminate = training ? PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
{
    if (cancel.IsCancellationRequested) return; // a second SIGTERM ends the process at once
    signal.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("SIGTERM: stopping after the current batch and keeping the last good checkpoint.");
}) : null;
return RunnerCli.Run(args, Console.Out, Console.Error, cancel.Token);
