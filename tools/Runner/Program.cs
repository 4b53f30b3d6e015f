// The SpikeEngine command-line front door (see README). Commands are added by the Runner work.
using SpikeEngine.Runner;

if (args.Length > 0 && args[0] == "train")
{
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        // First Ctrl-C: stop after the current batch, keeping the last completed epoch's checkpoint.
        e.Cancel = true;
        cancel.Cancel();
        Console.Error.WriteLine("Stopping; the last checkpoint is kept.");
    };
    try
    {
        return TrainCommand.Run(args[1..], Console.Out, cancel.Token);
    }
    catch (OperationCanceledException)
    {
        Console.Error.WriteLine("Training cancelled.");
        return 130;
    }
    catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or SpikeEngine.Training.NonFiniteLossException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
}
Console.WriteLine("SpikeEngine Runner\nusage: Runner train --dataset FashionMNIST --net_arch cnn --L 4 --trainann_epochs 2 --savedir runs/x");
return args.Length == 0 ? 0 : 2;
