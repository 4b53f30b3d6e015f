#!/usr/bin/python3
"""Loads a .pth state_dict the way the authors' QCFS/COS code does, and writes the model's logits.

Their pipeline: build the network with ReLU activations, call replace_activation_by_floor(model, t=L), which swaps
every module whose class name contains "relu" or "floor" for a QCFS unit with up = 8 (a one-element Parameter
named `up`), then model.load_state_dict(torch.load(FILE)). This script does exactly that (strict loading: every
key and shape must match) with the architectures of cos_reference.py, their QCFS units first turned back into
nn.ReLU, and the authors' QCFS arithmetic (x / up, floor(x * L + 0.5) / L, clamp to [0, 1], * up).

Usage: /usr/bin/python3 tools/reference/authors_load.py --pth FILE --arch resnet20|vgg16|cnn --levels L
           --input X.npy --out LOGITS.npy [--classes 10] [--width-divisor 1]
Prints one line "OK: N tensors loaded strictly, logits [B, classes]"; exit code 1 with the reason otherwise.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "fixtures")]
import cos_reference  # noqa: E402
# The authors' QCFS unit (their MyFloor): `up` a one-element Parameter; x / up, floor(x * L + 0.5) / L, clamp, * up.
from qcfs_modules import QCFS as MyFloor  # noqa: E402


def is_activation(name):
    return "relu" in name.lower() or "floor" in name.lower()


def replace_activation_by_floor(model, t):
    for name, module in model._modules.items():
        if hasattr(module, "_modules"):
            model._modules[name] = replace_activation_by_floor(module, t)
        if is_activation(module.__class__.__name__.lower()):
            model._modules[name] = MyFloor(t, up=8.0)
    return model


def with_relu(model):
    """The network as the authors build it before replace_activation_by_floor: ReLU where QCFS units are."""
    for name, module in model._modules.items():
        if isinstance(module, cos_reference.QCFS):
            model._modules[name] = nn.ReLU(inplace=True)
        elif hasattr(module, "_modules"):
            with_relu(module)
    return model


def main():
    ap = cos_reference.checkpoint_parser(__doc__)
    ap.add_argument("--width-divisor", type=int, default=1)
    ap.add_argument("--input", required=True, help=".npy [B, C, H, W], already normalised")
    ap.add_argument("--out", required=True, help=".npy file for the logits [B, classes]")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, _ = cos_reference.build(args.arch, args.classes, args.levels, args.width_divisor)
    model = replace_activation_by_floor(with_relu(model), args.levels)
    state = torch.load(args.pth, map_location="cpu")
    try:
        model.load_state_dict(state)  # strict, as the authors' main.py loads
    except RuntimeError as e:
        print(f"FAILED: load_state_dict: {e}")
        return 1
    model.eval()
    x = torch.from_numpy(np.load(args.input).astype(np.float32))
    with torch.no_grad():
        logits = model(x)
    np.save(args.out, logits.numpy())
    print(f"OK: {len(state)} tensors loaded strictly, logits {list(logits.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
