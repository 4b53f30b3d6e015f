#!/usr/bin/python3
"""Peer for bench/Training: one QCFS training step (forward, cross-entropy, backward, SGD with
momentum 0.9 and weight decay 5e-4) of VGG-16 and ResNet-20 at batch 64 on CIFAR shapes, with
PyTorch on 2 CPU threads. Prints images/s. The models follow engine/METHOD.md §8 (same layers
and parameter counts as SpikeEngine's model zoo).

usage: /usr/bin/python3 tools/peers/train_step_torch.py [--steps 5] [--warmup 2] [--threads 2] [--arch vgg16 resnet20]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

# The QCFS models with the reference names live in the fixture script; the peer reuses them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_checkpoints import build_model  # noqa: E402


def peer_model(arch):
    """The model of bench/Training: 10 classes, L = 4, dropout off (the engine's default)."""
    model = build_model(arch, classes=10, levels=4)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--arch", nargs="+", default=["resnet20", "vgg16"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    for arch in args.arch:
        model = peer_model(arch)
        params = sum(p.numel() for p in model.parameters())
        opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
        x = torch.rand(args.batch, 3, 32, 32) * 4 - 2
        y = torch.arange(args.batch) % 10
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        times = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
        mean = sum(times) / len(times)
        print(f"torch {torch.__version__} {arch} ({params:,} parameters), batch {args.batch}, {args.threads} threads: "
              f"{mean * 1000:.1f} ms/step, {args.batch / mean:.1f} images/s (mean of {len(times)} steps)")


if __name__ == "__main__":
    main()
