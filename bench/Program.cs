using BenchmarkDotNet.Running;
using SpikeEngine.Bench.Compare;

// Run with: dotnet run -c Release --project bench -- --filter '*'
//       or: dotnet run -c Release --project bench -- compare [options]   (engine beside its PyTorch peers, one table)
//       or: dotnet run -c Release --project bench -- convpaths            (direct vs im2col convolution per layer)
//       or: dotnet run -c Release --project bench -- sparsepaths [LAYER [RATE [REPEATS [pooled]]]] (dense vs event-driven convolution and fully connected layer per firing rate; LAYER: part of a layer's name ("fc": the fully connected ones) or "all", RATE "all" for a sweep; pooled: four input values)
//       or: dotnet run -c Release --project bench -- steploop resnet20 10 [off|separate|nowinograd] (training steps in a loop, for a profiler; off: no event-driven convolution, separate: BN and QCFS unfused, nowinograd: no Winograd convolution)
//       or: dotnet run -c Release --project bench -- gemmloop 1 1024 20 [nn|nt|tn|tt]  (GEMM rate per wall and per CPU second; size or MxNxK, which operands transposed)
//       or: dotnet run -c Release --project bench -- cosloop resnet20 DIR 10 [off|nowinograd] (COS inference in a loop on a compare_peer.py export)
if (args.Length > 0 && args[0] == "compare") return CompareCommand.Run(args);
if (args.Length > 0 && args[0] == "convpaths")
{
    ConvPathProbe.Run(64, 5);
    return 0;
}
if (args.Length > 0 && args[0] == "steploop")
    return Probe(() => StepLoop.Run(args.Length > 1 ? args[1] : "resnet20", args.Length > 2 ? int.Parse(args[2]) : 10, args.Length > 3 ? args[3] : ""));
if (args.Length > 0 && args[0] == "cosloop" && args.Length > 2)
    return Probe(() => CosLoop.Run(args[1], args[2], args.Length > 3 ? int.Parse(args[3]) : 10, args.Length > 4 ? args[4] : ""));
if (args.Length > 0 && args[0] == "gemmloop")
{
    GemmLoop.Run(args.Length > 1 ? int.Parse(args[1]) : 1, args.Length > 2 ? args[2] : "1024", args.Length > 3 ? int.Parse(args[3]) : 20, args.Length > 4 ? args[4] : "nn");
    return 0;
}
if (args.Length > 0 && args[0] == "sparsepaths")
{
    SparsePathProbe.Run(128, args.Length > 3 ? int.Parse(args[3]) : 3, args.Length > 1 && args[1] != "all" ? args[1] : null,
        args.Length > 2 && args[2] != "all" ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : null, args.Length > 4 && args[4] == "pooled");
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

// A probe refused its arguments: the message, exit code 2 (a typo of an option must not run the default instead).
static int Probe(Action run)
{
    try { run(); return 0; }
    catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
}
