#!/usr/bin/python3
"""Per-step SNN accuracies of a .pth on CIFAR-10 test images, from the spec (cos_reference.py's conversion and
simulation, engine/METHOD.md sections 2-5), independently of the engine.

Reads the first N images of the binary CIFAR-10 test set (DIR/test_batch.bin: per record 1 label byte, then the
1024 red, 1024 green and 1024 blue bytes), scales them to [0, 1], normalises them with the given per-channel
mean and std, evaluates the QCFS ANN and, for every rho, the converted SNN for T steps. The prediction at step t
is the argmax of the output summed over steps 1..t, ties to the lowest class (section 5).

Usage: /usr/bin/python3 tools/reference/snn_accuracy.py --pth FILE --arch resnet20 --levels 4
           --cifar10 DIR --images N --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.201
           --steps 8 --rhos 0,4 [--iterations 1] [--batch 100] --out RESULT.json
RESULT.json: {"images", "ann_accuracy", "ann_predictions", "runs": [{"presim_len", "sim_len", "iterations",
"accuracy_per_step", "predictions_per_step" ([T][N])}]}, accuracies as fractions.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cos_reference  # noqa: E402

RECORD = 1 + 3 * 32 * 32


def cifar10_test(folder, count):
    path = os.path.join(folder, "test_batch.bin")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % RECORD:
        raise SystemExit(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records")
    records = raw.reshape(-1, RECORD)
    if count > len(records):
        raise SystemExit(f"{path} holds {len(records)} images, {count} asked for")
    records = records[:count]
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    pixels = torch.from_numpy(records[:, 1:].reshape(count, 3, 32, 32).astype(np.float32)) / 255.0
    return pixels, labels


def floats(text, name):
    values = [float(v) for v in text.split(",")]
    if len(values) != 3:
        raise SystemExit(f"--{name} needs 3 comma-separated values (one per channel), got {text!r}")
    return torch.tensor(values, dtype=torch.float32).reshape(1, 3, 1, 1)


def predictions_per_step(outputs, steps):
    """outputs [N, B, classes] -> [T][B]: argmax of the cumulative sum (torch.argmax returns the first maximum)."""
    return torch.cumsum(outputs[:steps], dim=0).argmax(dim=2)


def main():
    ap = cos_reference.checkpoint_parser(__doc__)
    ap.add_argument("--cifar10", required=True, help="folder with test_batch.bin (cifar-10-batches-bin)")
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--mean", required=True)
    ap.add_argument("--std", required=True)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rhos", default="0,4")
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model, _ = cos_reference.build(args.arch, args.classes, args.levels, 1)
    state = torch.load(args.pth, map_location="cpu")
    model.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()})
    model.eval()
    pixels, labels = cifar10_test(args.cifar10, args.images)
    images = (pixels - floats(args.mean, "mean")) / floats(args.std, "std")

    with torch.no_grad():
        ann = torch.cat([model(images[i:i + args.batch]).argmax(dim=1) for i in range(0, args.images, args.batch)])
    snn = model
    snn.sim = {}
    cos_reference.convert(snn, snn.sim)
    runs = []
    for rho in [int(r) for r in args.rhos.split(",")]:
        per_step = []
        for i in range(0, args.images, args.batch):
            out = cos_reference.simulate(snn, images[i:i + args.batch], args.steps, rho, args.iterations)
            per_step.append(predictions_per_step(out, args.steps))
        per_step = torch.cat(per_step, dim=1)  # [T, N]
        accuracy = (per_step == labels.unsqueeze(0)).double().mean(dim=1)
        runs.append({"presim_len": rho, "sim_len": args.steps, "iterations": args.iterations if rho else 1,
                     "accuracy_per_step": accuracy.tolist(), "predictions_per_step": per_step.tolist()})
    result = {"images": args.images, "ann_accuracy": (ann == labels).double().mean().item(),
              "ann_predictions": ann.tolist(), "runs": runs}
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(f"ANN {100 * result['ann_accuracy']:.2f} %; " + "; ".join(
        f"rho={r['presim_len']}: " + " ".join(f"{100 * a:.2f}" for a in r["accuracy_per_step"]) for r in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
