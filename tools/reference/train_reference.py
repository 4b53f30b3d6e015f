#!/usr/bin/python3
"""Trains the QCFS ResNet-20/VGG in PyTorch the way SpikeEngine's `train` does, on the same CIFAR-10 binary
files, and prints the per-epoch log in the engine's training_log.csv columns. It is the independent check of
the engine's training dynamics: same model (tools/fixtures), same initialisation (engine/Nn/Initialization.cs:
conv Kaiming-normal fan_out, linear uniform ±1/√in, biases 0, BN 1/0, λ = 8), same SGD (momentum 0.9, weight
decay on every parameter, λ included), same schedule (linear warm-up per batch, then cosine per epoch, as
engine/Training/CosineSchedule.cs) and the `--augment basic` pipeline (zero-padded random crop 32/4, flip).

    /usr/bin/python3 tools/reference/train_reference.py --datadir ../shared/data --epochs 40 --stop_after 2 \
        --lr 0.05 --warmup_epochs 1 [--train_limit N] [--limit N] [--threads 2] [--out log.csv]

--stop_after E ends the run after E epochs of an --epochs-long schedule, to compare the start of a long run.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_checkpoints import build_model  # noqa: E402
from qcfs_modules import QCFS  # noqa: E402

MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)  # engine/Data/Normalization.cs, CIFAR-10
STD = np.array([0.2023, 0.1994, 0.2010], np.float32)


def read_cifar10(folder, files):
    """Records of 1 label byte + 3×32×32 pixel bytes; returns uint8 images N×3×32×32 and int64 labels."""
    raw = np.concatenate([np.fromfile(os.path.join(folder, f), np.uint8).reshape(-1, 3073) for f in files])
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def normalise(images):
    return (images.astype(np.float32) / 255 - MEAN[:, None, None]) / STD[:, None, None]


def augment_basic(batch, rng):
    """Zero-padded (before normalisation, as torchvision on PIL images) random crop 32/4, then a coin-flip
    horizontal flip, per image."""
    n = batch.shape[0]
    padded = np.zeros((n, 3, 40, 40), np.uint8)
    padded[:, :, 4:36, 4:36] = batch
    out = np.empty_like(batch)
    for i in range(n):
        top, left = rng.integers(0, 9, 2)
        crop = padded[i, :, top:top + 32, left:left + 32]
        out[i] = crop[:, :, ::-1] if rng.random() < 0.5 else crop
    return out


def initialise(model, threshold):
    """engine/Nn/Initialization.cs's scheme (the distributions, not its random numbers)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound)
                m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1)
                m.bias.zero_()
            elif isinstance(m, QCFS):
                m.up.fill_(threshold)


def learning_rate(base, epochs, warmup, epoch, batch, batches):
    """engine/Training/CosineSchedule.cs: warm-up linear per batch, then cosine per epoch (minimum 0)."""
    if epoch < warmup:
        return base * (epoch * batches + min(batch + 1, batches)) / (warmup * batches)
    return base * (1 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup))) / 2


def evaluate(model, images, labels, batch):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(normalise(images[s:s + batch]))
            correct += (model(x).argmax(1).numpy() == labels[s:s + batch]).sum()
    return correct / len(images)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datadir", default="../shared/data")
    ap.add_argument("--arch", default="resnet20")
    ap.add_argument("--L", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--stop_after", type=int, default=0, help="stop after this many epochs (0: all)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--warmup_epochs", type=int, default=1)
    ap.add_argument("--batchsize", type=int, default=64)
    ap.add_argument("--train_limit", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="test images (0: all 10,000)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--initial_threshold", type=float, default=8.0, help="initial λ of every QCFS layer")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", help="also write the log as CSV here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    folder = os.path.join(args.datadir, "cifar-10-batches-bin")
    train_x, train_y = read_cifar10(folder, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test_x, test_y = read_cifar10(folder, ["test_batch.bin"])
    if args.train_limit:
        train_x, train_y = train_x[:args.train_limit], train_y[:args.train_limit]
    if args.limit:
        test_x, test_y = test_x[:args.limit], test_y[:args.limit]

    model = build_model(args.arch, classes=10, levels=args.L)
    initialise(model, args.initial_threshold)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.wd)
    loss_fn = nn.CrossEntropyLoss()
    batches = len(train_x) // args.batchsize  # the engine drops the last partial batch too
    header = "epoch,learning_rate,train_loss,train_accuracy,test_accuracy,seconds"
    print(header, flush=True)
    lines = [header]
    for epoch in range(args.stop_after or args.epochs):
        model.train()
        order = rng.permutation(len(train_x))
        start, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        for b in range(batches):
            for group in opt.param_groups:
                group["lr"] = learning_rate(args.lr, args.epochs, args.warmup_epochs, epoch, b, batches)
            idx = order[b * args.batchsize:(b + 1) * args.batchsize]
            x = torch.from_numpy(normalise(augment_basic(train_x[idx], rng)))
            y = torch.from_numpy(train_y[idx])
            opt.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(idx)
        lr = opt.param_groups[0]["lr"]
        test = evaluate(model, test_x, test_y, 200)
        line = f"{epoch + 1},{lr:.6g},{loss_sum / seen:.6g},{correct / seen:.5g},{test:.5g},{time.time() - start:.1f}"
        print(line, flush=True)
        lines.append(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
