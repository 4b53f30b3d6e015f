#!/usr/bin/python3
"""From-the-spec reference for ANN->SNN conversion with offset-spike calibration (COS).

Written from engine/METHOD.md (sections 2-4 and 6), independently of the engine's C#. It builds a QCFS
model with the reference's parameter names (engine/METHOD.md section 8), loads a state_dict (.pth) or makes a
deterministic random one, converts it (QCFS -> IF neurons with threshold = lambda, BatchNorm kept as
its eval-mode affine map, dropout = identity) and simulates it layer by layer over whole spike trains
for several pre-simulation lengths rho, writing a safetensors fixture with:

  input                      the fixed input batch [B, C, H, W]
  ann.logits                 QCFS forward in eval mode [B, classes]
  rho{r}.outputs             per-step outputs of the final layer [N, B, classes], N = max(rho, T)
  rho{r}.spikes.{layer}      spikes per step of each IF layer [N] (integers stored as float)
  rho{r}.shift_up.{layer}    neurons whose v0 > 0.5 (one element), rho{r}.shift_down.{layer} likewise
  kernel.z                   the exact pre-activations of one IF layer (the probe) at rho = 4 [N*B, ...]
  kernel.v0, kernel.spikes   its initial potentials and output (theta * s) from this implementation

All neuron arithmetic is float32 in the order of engine/METHOD.md: I = z / theta (a division), v = v + I,
s = (v >= 1), v = v - s; the COS shift uses float32 constants 0.5, 0.999, 1.001 and -1000.

Usage: /usr/bin/python3 tools/reference/cos_reference.py --arch cnn --out fixture.safetensors
       [--checkpoint model.pth] [--levels 4] [--steps 8] [--rhos 0,1,4] [--batch 4] [--seed 0]
"""
import argparse
import json
import os
import struct
import tempfile

import torch
import torch.nn as nn

F32 = torch.float32
HALF = torch.tensor(0.5, dtype=F32)
ONE = torch.tensor(1.0, dtype=F32)
MARGIN_DOWN = torch.tensor(0.999, dtype=F32)
MARGIN_UP = torch.tensor(1.001, dtype=F32)
NO_QUIET_STEP = torch.tensor(-1000.0, dtype=F32)


# ---------------------------------------------------------------- the ANN (engine/METHOD.md section 1, 8)
class QCFS(nn.Module):
    def __init__(self, levels, up=8.0):
        super().__init__()
        self.up = nn.Parameter(torch.tensor([up], dtype=F32))
        self.levels = levels

    def forward(self, x):
        q = torch.floor(x * self.levels / self.up + 0.5) / self.levels
        return self.up * torch.clamp(q, 0, 1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, levels):
        super().__init__()
        self.residual_function = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), QCFS(levels),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = QCFS(levels)

    def forward(self, x):
        return self.relu(self.residual_function(x) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, classes, levels):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), QCFS(levels))
        cin = 16
        for name, cout, stride in (("conv2_x", 16, 1), ("conv3_x", 32, 2), ("conv4_x", 64, 2)):
            blocks = []
            for i in range(3):
                blocks.append(BasicBlock(cin, cout, stride if i == 0 else 1, levels))
                cin = cout
            setattr(self, name, nn.Sequential(*blocks))
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.conv4_x(self.conv3_x(self.conv2_x(self.conv1(x))))
        return self.fc(torch.flatten(self.avg_pool(x), 1))


class Vgg16(nn.Module):
    def __init__(self, classes, levels, width_divisor=1):
        super().__init__()
        cfg = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
        cin = 3
        for b, widths in enumerate(cfg):
            layers = []
            for w in widths:
                w //= width_divisor
                layers += [nn.Conv2d(cin, w, 3, 1, 1), nn.BatchNorm2d(w), QCFS(levels), nn.Dropout(0.1)]
                cin = w
            layers.append(nn.AvgPool2d(2, 2))
            setattr(self, f"layer{b + 1}", nn.Sequential(*layers))
        hidden = 4096 // width_divisor
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin, hidden), QCFS(levels), nn.Dropout(0.5),
                                        nn.Linear(hidden, hidden), QCFS(levels), nn.Dropout(0.5),
                                        nn.Linear(hidden, classes))

    def forward(self, x):
        for b in range(5):
            x = getattr(self, f"layer{b + 1}")(x)
        return self.classifier(x)


class SmallCnn(nn.Module):
    """The engine's "cnn" for 28x28 grey images: layer1 = [Conv 1->c1, BN, QCFS, AvgPool 2],
    layer2 = [Conv c1->c2, BN, QCFS, AvgPool 2], classifier = [Flatten, Linear(c2*7*7, classes)]."""

    def __init__(self, classes, levels, c1=32, c2=64):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, c1, 3, 1, 1), nn.BatchNorm2d(c1), QCFS(levels), nn.AvgPool2d(2, 2))
        self.layer2 = nn.Sequential(nn.Conv2d(c1, c2, 3, 1, 1), nn.BatchNorm2d(c2), QCFS(levels), nn.AvgPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 7 * 7, classes))

    def forward(self, x):
        return self.classifier(self.layer2(self.layer1(x)))


def checkpoint_parser(doc):
    """An argument parser with the options that name a reference checkpoint: --pth, --arch, --levels, --classes."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pth", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--levels", type=int, required=True)
    ap.add_argument("--classes", type=int, default=10)
    return ap


def build(arch, classes, levels, width_divisor):
    if arch == "resnet20":
        return ResNet20(classes, levels), (3, 32, 32)
    if arch == "vgg16":
        return Vgg16(classes, levels, width_divisor), (3, 32, 32)
    if arch == "cnn":
        return SmallCnn(classes, levels, 32 // width_divisor, 64 // width_divisor), (1, 28, 28)
    raise SystemExit(f"unknown --arch {arch!r} (cnn, resnet20, vgg16)")


def randomise(model, x, seed):
    """Deterministic non-trivial weights: random BN statistics, and each lambda set to the 99th
    percentile of its input on the batch so that neurons fire at useful rates."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(100)
        handles = []

        def set_up(module, inputs):
            v = inputs[0].flatten()
            module.up.copy_(torch.quantile(v[v > 0], 0.99).reshape(1) if (v > 0).any() else torch.ones(1))
        for m in model.modules():
            if isinstance(m, QCFS):
                handles.append(m.register_forward_pre_hook(set_up))
        model.eval()
        model(x)
        for h in handles:
            h.remove()


# ---------------------------------------------------------------- the SNN (engine/METHOD.md sections 2-4)
class IFLayer(nn.Module):
    """IF neurons with threshold theta = lambda over a whole spike train [N*B, ...] (time-major)."""

    def __init__(self, theta, name, sim):
        super().__init__()
        self.theta = theta.detach().reshape(()).to(F32)
        self.name = name
        self.sim = sim

    def forward(self, z):
        sim = self.sim
        n_steps, batch = sim["steps"], sim["batch"]
        if z.shape[0] == batch:  # constant input (the layers before the first IF layer): same at every step
            z = z.unsqueeze(0).expand(n_steps, *z.shape).reshape(n_steps * batch, *z.shape[1:])
        if self.name == sim.get("probe"):
            sim["probe_z"] = z.clone()
        current = (z / self.theta).reshape(n_steps, -1)
        v0 = calibrate(current, sim["rho"], sim["iterations"])
        v = v0.clone()
        spikes = torch.empty_like(current)
        for t in range(n_steps):
            v = v + current[t]
            s = (v >= ONE).to(F32)
            v = v - s
            spikes[t] = s
        sim["spikes"][self.name] = spikes.sum(dim=1)
        sim["shift_up"][self.name] = int((v0 > HALF).sum())
        sim["shift_down"][self.name] = int((v0 < HALF).sum())
        sim["v0"][self.name] = v0
        out = (spikes * self.theta).reshape(z.shape)
        if self.name == sim.get("probe"):
            sim["probe_out"] = out.clone()
        return out


def calibrate(current, rho, iterations):
    """engine/METHOD.md section 4 steps 1-2 (repeated `iterations` times); returns v0 per neuron."""
    v0 = torch.full_like(current[0], 0.5)
    if rho == 0:
        return v0
    for _ in range(iterations):
        v = v0.clone()
        count = torch.zeros_like(v0)
        u_min = torch.full_like(v0, float("inf"))
        w_max = torch.full_like(v0, -1000.0)
        for t in range(rho):
            v = v + current[t]
            spiked = v >= ONE
            count = count + spiked.to(F32)
            u_min = torch.where(spiked, torch.minimum(u_min, v), u_min)
            w_max = torch.where(spiked, w_max, torch.maximum(w_max, v))
            v = v - spiked.to(F32)
        too_many = (v < 0) & (count > 0)
        too_few = v >= ONE
        down = v0 - torch.maximum(ONE, u_min - MARGIN_DOWN)
        up = v0 + torch.maximum(ONE, MARGIN_UP - w_max)
        v0 = torch.where(too_many, down, torch.where(too_few, up, v0))
    return v0


def convert(model, sim):
    """Replaces every QCFS by an IF layer named by its module path, and every dropout by identity."""
    names = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            path = f"{parent_name}.{child_name}" if parent_name else child_name
            if isinstance(child, QCFS):
                if float(child.up) <= 0:
                    raise SystemExit(f"QCFS layer {path}: lambda = {float(child.up)} must be > 0")
                setattr(parent, child_name, IFLayer(child.up, path, sim))
                names.append(path)
            elif isinstance(child, nn.Dropout):
                setattr(parent, child_name, nn.Identity())
    if not names:
        raise SystemExit("the model has no QCFS layer to convert")
    return names


def simulate(snn, x, steps, rho, iterations, probe=None):
    sim = snn.sim
    sim.update(steps=max(rho, steps), batch=x.shape[0], rho=rho, iterations=iterations, probe=probe,
               spikes={}, shift_up={}, shift_down={}, v0={})
    with torch.no_grad():
        out = snn(x)
    n = sim["steps"]
    return out.reshape(n, x.shape[0], -1)


# ---------------------------------------------------------------- fixture file
def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        integer = not t.is_floating_point()
        data = t.detach().to(torch.int64 if integer else F32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "I64" if integer else "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--checkpoint", help=".pth state_dict; without it a deterministic random model is made")
    ap.add_argument("--save-checkpoint", help="also write the (random) model's state_dict here (.pth)")
    ap.add_argument("--save-safetensors", help="also write the model's state_dict here (safetensors)")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--width-divisor", type=int, default=1)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rhos", default="0,1,4")
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-npy", help=".npy file [B, C, H, W] used as the input batch (e.g. the checkpoint fixtures' input.npy)")
    ap.add_argument("--probe-neurons", type=int, default=4096, help="neurons of the probe layer (per step) kept in kernel.*")
    ap.add_argument("--no-probe", action="store_true", help="leave out the kernel.* tensors (large for wide layers)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    model, chw = build(args.arch, args.classes, args.levels, args.width_divisor)
    x = torch.randn(args.batch, *chw, generator=torch.Generator().manual_seed(args.seed + 1))
    if args.input_npy:
        import numpy as np
        x = torch.from_numpy(np.load(args.input_npy).astype("float32"))
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu")
        model.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()})
    else:
        randomise(model, x, args.seed)
    model.eval()
    if args.save_checkpoint:
        torch.save(model.state_dict(), args.save_checkpoint)
    if args.save_safetensors:
        write_safetensors(args.save_safetensors, dict(model.state_dict()), {"arch": args.arch})
    with torch.no_grad():
        logits = model(x)

    sim = {}
    snn = model
    snn.sim = sim
    layer_names = convert(snn, sim)
    probe = None if args.no_probe else layer_names[min(1, len(layer_names) - 1)]
    tensors = {"input": x, "ann.logits": logits}
    for rho in [int(r) for r in args.rhos.split(",")]:
        out = simulate(snn, x, args.steps, rho, args.iterations, probe if rho == 4 else None)
        tensors[f"rho{rho}.outputs"] = out
        for name in layer_names:
            tensors[f"rho{rho}.spikes.{name}"] = sim["spikes"][name]
            tensors[f"rho{rho}.shift_up.{name}"] = torch.tensor([float(sim["shift_up"][name])])
            tensors[f"rho{rho}.shift_down.{name}"] = torch.tensor([float(sim["shift_down"][name])])
        if rho == 4 and probe is not None:
            n_steps, keep = out.shape[0], args.probe_neurons
            tensors["kernel.z"] = sim["probe_z"].reshape(n_steps, -1)[:, :keep].reshape(-1)
            tensors["kernel.v0"] = sim["v0"][probe][:keep]
            tensors["kernel.spikes"] = sim["probe_out"].reshape(n_steps, -1)[:, :keep].reshape(-1)
            tensors["kernel.theta"] = dict(snn.named_modules())[probe].theta.reshape(1)
    meta = {"arch": args.arch, "levels": args.levels, "steps": args.steps, "rhos": args.rhos,
            "iterations": args.iterations, "width_divisor": args.width_divisor, "if_layers": ",".join(layer_names),
            "probe_layer": probe or "",
            "torch": torch.__version__}
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out}: {len(tensors)} tensors; IF layers: {', '.join(layer_names)}")


if __name__ == "__main__":
    main()
