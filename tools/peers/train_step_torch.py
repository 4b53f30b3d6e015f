#!/usr/bin/python3
"""Peer for bench/Training: one QCFS training step (forward, cross-entropy, backward, SGD with
momentum 0.9 and weight decay 5e-4) of VGG-16 and ResNet-20 at batch 64 on CIFAR shapes, with
PyTorch on 2 CPU threads. Prints images/s. The models follow shared/spec/cos.md §8 (same layers
and parameter counts as SpikeEngine's model zoo).

usage: /usr/bin/python3 tools/peers/train_step_torch.py [--steps 5] [--warmup 2] [--threads 2] [--arch vgg16 resnet20]
"""
import argparse
import time

import torch
import torch.nn as nn


class QcfsFloor(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, g):
        return g  # straight-through


class Qcfs(nn.Module):
    def __init__(self, levels, up=8.0):
        super().__init__()
        self.up = nn.Parameter(torch.tensor([up]))
        self.levels = levels

    def forward(self, x):
        x = x / self.up
        x = QcfsFloor.apply(x * self.levels + 0.5) / self.levels
        return torch.clamp(x, 0, 1) * self.up


VGG_CFG = {16: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]}


class Vgg(nn.Module):
    def __init__(self, classes, levels, dropout=0.0):
        super().__init__()
        c = 3
        for b, block in enumerate(VGG_CFG[16]):
            layers = []
            for w in block:
                layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), Qcfs(levels), nn.Dropout(dropout)]
                c = w
            layers.append(nn.AvgPool2d(2, 2))
            setattr(self, f"layer{b + 1}", nn.Sequential(*layers))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(512, 4096), Qcfs(levels), nn.Dropout(dropout),
            nn.Linear(4096, 4096), Qcfs(levels), nn.Dropout(dropout), nn.Linear(4096, classes))

    def forward(self, x):
        for i in range(1, 6):
            x = getattr(self, f"layer{i}")(x)
        return self.classifier(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, levels):
        super().__init__()
        self.residual_function = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), Qcfs(levels),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = Qcfs(levels)

    def forward(self, x):
        return self.relu(self.residual_function(x) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, classes, levels):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), Qcfs(levels))
        c = 16
        for s, w in enumerate([16, 32, 64]):
            blocks = []
            for b in range(3):
                blocks.append(BasicBlock(c, w, 2 if b == 0 and s > 0 else 1, levels))
                c = w
            setattr(self, f"conv{s + 2}_x", nn.Sequential(*blocks))
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv4_x(self.conv3_x(self.conv2_x(x)))
        return self.fc(self.avg_pool(x).flatten(1))


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
        model = ResNet20(10, 4) if arch == "resnet20" else Vgg(10, 4)
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
