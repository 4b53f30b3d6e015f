#!/usr/bin/python3
"""PyTorch peer for the SNN benchmark: COS inference (T = 4, rho = 4, batch 32 by default) of ResNet-20 and
VGG-16 (CIFAR shapes, random weights with random BatchNorm statistics and calibrated thresholds), run with
the from-the-spec implementation of tools/reference/cos_reference.py (stateless layers over the whole train
as a batch of N*B, IF layers vectorised over neurons, time walked per layer) on 2 threads.

Prints images/s per model, plus the mean firing rate of the IF layers.
Usage: /usr/bin/python3 tools/peers/snn_torch.py [--models resnet20,vgg16] [--batch 32] [--steps 4] [--rho 4]
       [--threads 2] [--repeats 3]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import cos_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet20,vgg16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rho", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for arch in args.models.split(","):
        model, chw = ref.build(arch, 10, 4, 1)
        x = torch.randn(args.batch, *chw, generator=torch.Generator().manual_seed(1))
        ref.randomise(model, x, 0)
        model.eval()
        sim = {}
        model.sim = sim
        names = ref.convert(model, sim)
        ref.simulate(model, x, args.steps, args.rho, 1)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ref.simulate(model, x, args.steps, args.rho, 1)
            times.append(time.perf_counter() - start)
        best = min(times)
        n = max(args.rho, args.steps)
        spikes = sum(float(sim["spikes"][k][: args.steps].sum()) for k in names)
        neurons = sum(float(sim["v0"][k].numel()) for k in names)
        rate = spikes / (neurons * args.steps)
        print(f"{arch}: batch {args.batch}, T={args.steps}, rho={args.rho} (N={n}), {args.threads} threads: "
              f"best {best * 1000:.1f} ms = {args.batch / best:.2f} images/s (median {sorted(times)[len(times) // 2] * 1000:.1f} ms); "
              f"mean IF firing rate {rate:.4f}")


if __name__ == "__main__":
    main()
