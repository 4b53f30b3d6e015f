using System.CommandLine;

namespace SpikeEngine.Runner.Cli;

/// <summary>
/// The options, spelled as the reference's main.py spells them (so its usage lines work unchanged),
/// plus the Runner's own (--download, --limit, --train_limit, --json, --predictions, --plot, --threads, --resume, --iterations,
/// export's --format and --out).
/// One instance per command: System.CommandLine ties an option object to one parent.
/// </summary>
public sealed class RunnerOptions
{
    public readonly Option<string?> Dataset = new("--dataset")
    { Description = "Data set: CIFAR10, CIFAR100, ImageNet, FashionMNIST, MNIST (default: the checkpoint's, else CIFAR100 as the reference)." };
    public readonly Option<string?> DataDir = new("--datadir")
    { Description = "Folder holding the data set files (default: ./data; FashionMNIST also looks in /usr/share/datasets/fashion-mnist)." };
    public readonly Option<string?> TrainDir = new("--train_dir")
    { Description = "ImageNet training folder (<folder>/<class>/<image>)." };
    public readonly Option<string?> TestDir = new("--test_dir")
    { Description = "ImageNet validation folder (<folder>/<class>/<image>)." };
    public readonly Option<string> SaveDir = new("--savedir")
    { Description = "Folder for trained checkpoints (best and last, safetensors).", DefaultValueFactory = _ => "saved_models" };
    public readonly Option<string> LoadModelName = new("--load_model_name")
    { Description = "Checkpoint to load: .pth, .safetensors or .onnx; without an extension NAME.pth then NAME.safetensors are tried (also inside --savedir); 'none' = no checkpoint.", DefaultValueFactory = _ => "none" };
    public readonly Option<int> TrainEpochs = new("--trainann_epochs")
    { Description = "Training epochs of the QCFS ANN.", DefaultValueFactory = _ => 300 };
    public readonly Option<string?> NetArch = new("--net_arch")
    { Description = "Architecture: vgg11, vgg13, vgg16, vgg19, resnet18, resnet20, resnet34, cnn (default: the checkpoint's, else vgg16)." };
    public readonly Option<string> Device = new("--device")
    { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
    public readonly Option<int> BatchSize = new("--batchsize")
    { Description = "Batch size for training and evaluation.", DefaultValueFactory = _ => 100 };
    public readonly Option<int?> L = new("--L")
    { Description = "QCFS quantisation level L (default: the checkpoint's; a .pth records none, so give it; train: 4)." };
    public readonly Option<int> SimLen = new("--sim_len")
    { Description = "SNN simulation length T (time steps).", DefaultValueFactory = _ => 32 };
    public readonly Option<int> PresimLen = new("--presim_len")
    { Description = "COS pre-simulation length ρ; 0 = plain conversion without calibration.", DefaultValueFactory = _ => 4 };
    public readonly Option<double> Lr = new("--lr")
    { Description = "Learning rate (SGD, momentum 0.9, cosine schedule).", DefaultValueFactory = _ => 0.02 };
    public readonly Option<double> Wd = new("--wd")
    { Description = "Weight decay (applies to every parameter, λ included).", DefaultValueFactory = _ => 5e-4 };
    public readonly Option<double> InitialThreshold = new("--initial_threshold")
    { Description = "train: initial λ of every QCFS layer of a new model (8 = the reference's; CIFAR networks end near 1–3).", DefaultValueFactory = _ => 8.0 };
    public readonly Option<bool> DirectTraining = new("--direct_training")
    { Description = "Train the QCFS ANN first (reference mode), then evaluate it as an SNN." };
    public readonly Option<bool> SaveModel = new("--save_model")
    { Description = "Accepted for the reference's sake: trained models are always saved to --savedir." };
    public readonly Option<int> Seed = new("--seed")
    { Description = "Random seed (initialisation, shuffling, augmentation).", DefaultValueFactory = _ => 42 };
    public readonly Option<string?> CudaVisibleDevices = new("--CUDA_VISIBLE_DEVICES", "--CUDA_VISIBLE_DEVICE")
    { Description = "Sets CUDA_VISIBLE_DEVICES for this run (GPU selection, as in the reference)." };
    public readonly Option<bool> Download = new("--download")
    { Description = "Download CIFAR-10/100, MNIST or Fashion-MNIST into --datadir if missing (MD5-checked)." };
    public readonly Option<int?> Limit = new("--limit")
    { Description = "Use only the first N test images." };
    public readonly Option<int?> TrainLimit = new("--train_limit")
    { Description = "Train on only the first N training images." };
    public readonly Option<string?> Predictions = new("--predictions")
    { Description = "Write one CSV row per test image to FILE: index, path (or record number), label, ann, then plain_t1..plain_tT / cos_t1..cos_tT for the SNN runs made (the predicted class after each step)." };
    public readonly Option<string?> Json = new("--json")
    { Description = "Write the results as one JSON object to FILE." };
    public readonly Option<string?> Plot = new("--plot")
    { Description = "Write accuracy vs time step (ANN line, plain and COS curves) as a PNG to FILE." };
    public readonly Option<string> PlotSize = new("--plot_size")
    { Description = "PNG size WIDTHxHEIGHT in pixels.", DefaultValueFactory = _ => "800x500" };
    public readonly Option<int?> Threads = new("--threads")
    { Description = "CPU threads for the engine's kernels (default: all cores)." };
    public readonly Option<bool> Resume = new("--resume")
    { Description = "Continue training from the last checkpoint in --savedir." };
    public readonly Option<string> Augment = new("--augment")
    { Description = "Training augmentation: full (the reference: crop, flip, AutoAugment, Cutout), basic (crop and flip) or none.", DefaultValueFactory = _ => "full" };
    public readonly Option<int> WarmupEpochs = new("--warmup_epochs")
    { Description = "Epochs of linear learning-rate warm-up (per batch) before the cosine schedule; 0 = the reference's schedule.", DefaultValueFactory = _ => 0 };
    public readonly Option<double> LabelSmoothing = new("--label_smoothing")
    { Description = "train: label smoothing ε of the training loss, in [0, 1): the target is (1 − ε)·onehot + ε/classes (0 = the reference's plain cross-entropy).", DefaultValueFactory = _ => 0.0 };
    public readonly Option<int> SwaEpochs = new("--swa_epochs")
    { Description = "train: stochastic weight averaging: average the weights at the ends of the last N epochs, measure BatchNorm's statistics again for the mean on the training images, evaluate it and write it to SAVEDIR/.../swa.safetensors (0 = none).", DefaultValueFactory = _ => 0 };
    public readonly Option<double?> SwaLr = new("--swa_lr")
    { Description = "train: a constant learning rate for the --swa_epochs averaged epochs (default: they follow the cosine)." };
    public readonly Option<string?> Curve = new("--curve")
    { Description = "Write the training curve (loss, training and test accuracy per epoch, from SAVEDIR/.../training_log.csv) as a PNG to FILE after every epoch." };
    public readonly Option<string?> Format = new("--format")
    { Description = "export: pth (a PyTorch state_dict with the reference's names) or safetensors (with the model's metadata); default: from --out's extension." };
    public readonly Option<string?> Out = new("--out")
    { Description = "export: the file to write (atomically); report: the folder for results.md/.csv/.json and accuracy_vs_t.png." };
    public readonly Option<string[]> Meta = new("--meta")
    { Description = "export (safetensors): add a metadata entry KEY=VALUE (repeatable), e.g. --meta epochs=64 --meta command=\"…\".", AllowMultipleArgumentsPerToken = false };
    public readonly Option<int> Iterations = new("--iterations")
    { Description = "COS iterations k (repeat pre-simulation and shift; 1 = the reference).", DefaultValueFactory = _ => 1 };

    // Imported networks (.onnx files and the checkpoints fine-tuned from them).
    public readonly Option<string?> InitFrom = new("--init_from")
    { Description = "train: start from this checkpoint's weights; an .onnx file (or a checkpoint of an imported network) is fine-tuned with QCFS from its calibrated thresholds." };
    public readonly Option<double> Percentile = new("--percentile")
    { Description = "Imported networks: λ of each ReLU = this percentile of its positive activations on the calibration images.", DefaultValueFactory = _ => 99.99 };
    public readonly Option<int> CalibrationImages = new("--calibration_images")
    { Description = "Imported networks: how many training images (the first N) the thresholds are computed on.", DefaultValueFactory = _ => 1000 };
    public readonly Option<bool> MaxPoolToAvgPool = new("--maxpool_to_avgpool")
    { Description = "Imported networks: replace MaxPool by AveragePool of the same window (conversion needs average pooling); otherwise MaxPool is refused." };
    public readonly Option<string?> Mean = new("--mean")
    { Description = "Per-channel input mean, comma-separated (pixels in [0, 1]); default: the checkpoint's, for an .onnx file 0." };
    public readonly Option<string?> Std = new("--std")
    { Description = "Per-channel input standard deviation, comma-separated; default: the checkpoint's, for an .onnx file 1." };

    public IEnumerable<Option> Imported() => [Percentile, CalibrationImages, MaxPoolToAvgPool, Mean, Std];

    public readonly Option<string> Distributed = new("--distributed")
    { Description = "auto: under mpirun or srun (OMPI_COMM_WORLD_SIZE, PMI_SIZE) share the work over the ranks (MPI; NCCL between GPUs); none: run alone even there.", DefaultValueFactory = _ => "auto" };
    public readonly Option<double> DistTimeout = new("--dist_timeout")
    { Description = "Seconds one collective may wait for the other ranks before every rank is aborted (a rank that hangs).", DefaultValueFactory = _ => 300 };
    public readonly Option<bool> SyncBn = new("--sync_bn")
    { Description = "Data-parallel training: average the BatchNorm running statistics over the ranks after every step (default: rank 0's are used)." };
    public readonly Option<bool> CheckReplicas = new("--check_replicas")
    { Description = "Data-parallel training: after every step compare a checksum of every rank's parameters and fail when they differ (debugging)." };

    /// <summary>Adds the given options to a command.</summary>
    public static RunnerOptions AddTo(Command command, Func<RunnerOptions, IEnumerable<Option>> pick)
    {
        var o = new RunnerOptions();
        foreach (var option in pick(o)) command.Add(option);
        return o;
    }

    public IEnumerable<Option> Common() =>
        [Dataset, DataDir, TestDir, NetArch, Device, BatchSize, L, Seed, CudaVisibleDevices, Download, Limit, Threads, Json, Distributed, DistTimeout, .. Imported()];

    public IEnumerable<Option> Snn() => [SimLen, PresimLen, Iterations];

    public IEnumerable<Option> Training() =>
        [TrainDir, SaveDir, TrainEpochs, TrainLimit, Lr, Wd, InitialThreshold, Augment, WarmupEpochs, LabelSmoothing, SwaEpochs, SwaLr, Curve, DirectTraining, SaveModel, Resume, InitFrom, SyncBn, CheckReplicas];

    public IEnumerable<Option> All() =>
        Common().Concat(Snn()).Concat(Training()).Concat([LoadModelName, Predictions, Plot, PlotSize]);
}
