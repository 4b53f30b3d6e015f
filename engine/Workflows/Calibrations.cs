using System.Text.Json.Serialization;
using SpikeEngine.Calibration;
using SpikeEngine.IO;
using SpikeEngine.Nn.Graph;

namespace SpikeEngine.Workflows;

/// <summary>
/// What threshold calibration did: the settings, λ per unit, and the ANN's test accuracy before (ReLU) and after
/// (QCFS with the calibrated λ and L) — what the clipping cost before any spike is simulated.
/// </summary>
public sealed record CalibrationReport(
    double Percentile, int CalibrationImages, [property: JsonPropertyName("L")] int Levels,
    IReadOnlyList<LayerThreshold> Layers,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double AnnAccuracyOriginal,
    [property: JsonConverter(typeof(ResultJson.Rounded))] double AnnAccuracyCalibrated,
    long Samples, IReadOnlyList<string> Notes);

/// <summary>Data-based thresholds for an imported network (METHOD.md §9), measured on an opened test split.</summary>
public static class Calibrations
{
    /// <summary>
    /// Calibrates <paramref name="model"/>'s ReLUs on the first <see cref="CalibrationSettings.Images"/> images of
    /// <paramref name="calibration"/> (the training split: thresholds must not come from the test images) and returns the
    /// calibrated model (its metadata records L and the QCFS graph) with the accuracies on <paramref name="test"/>.
    /// </summary>
    public static (LoadedModel Model, CalibrationReport Report) Run(LoadedModel model, ImageSplit calibration, ImageSplit test,
        CalibrationSettings settings, int batchSize, CancellationToken cancel = default)
    {
        if (model.Ann is not GraphNetwork network || !model.NeedsCalibration)
            throw new ArgumentException($"{model.Source}: only an imported graph with ReLU units is calibrated (this one has {(model.Ann is GraphNetwork ? "QCFS units already" : "the zoo's QCFS layers")}).");
        var before = Evaluations.Ann(model, test, batchSize, cancel: cancel);
        var layers = ThresholdCalibration.Calibrate(network, model.Loader(calibration, batchSize), settings, model.Device, cancel);
        var extra = new Dictionary<string, string>(model.Metadata.Extra) { [GraphSpec.MetadataKey] = network.Spec.ToJson() };
        var calibrated = new LoadedModel(model.Metadata with { Levels = settings.Levels, Extra = extra }, network, model.Source, model.Device)
        {
            Notes = model.Notes,
        };
        var after = Evaluations.Ann(calibrated, test, batchSize, cancel: cancel);
        return (calibrated, new CalibrationReport(settings.Percentile, Math.Min(settings.Images, calibration.Count), settings.Levels, layers,
            before.AnnAccuracy, after.AnnAccuracy, after.Samples, model.Notes));
    }
}
