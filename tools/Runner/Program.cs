// The SpikeEngine command-line front door (see tools/Runner/README.md).
using SpikeEngine.Runner.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
    e.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("Interrupt: stopping after the current batch and keeping the last good checkpoint (Ctrl-C again to abort).");
};
return RunnerCli.Run(args, Console.Out, Console.Error, cancel.Token);
