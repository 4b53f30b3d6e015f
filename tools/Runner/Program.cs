// The SpikeEngine command-line front door (see README). Commands are added by the Runner work.
Console.WriteLine("SpikeEngine Runner");
