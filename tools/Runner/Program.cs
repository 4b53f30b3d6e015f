// The SpikeEngine command-line front door (see tools/Runner/README.md).
using SpikeEngine.Runner.Cli;

using var cancel = new CancellationTokenSource();
// Only training stops gracefully (it keeps its last good checkpoint); other commands end at once on Ctrl-C.
bool training = args.Length > 0 && args[0] == "train" || args.Contains("--direct_training");
if (training) Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
    e.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("Interrupt: stopping after the current batch and keeping the last good checkpoint (Ctrl-C again to abort).");
};
return RunnerCli.Run(args, Console.Out, Console.Error, cancel.Token);
