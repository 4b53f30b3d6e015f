#!/usr/bin/python3
"""Runs the COS authors' own evaluation script (github.com/hzc1208/ANN2SNN_COS, main.py) on the CPU, unmodified,
as the whole-script peer of the Runner's `snn` command (tools/peers/snn_vs_authors.sh times the two).

Their main.py is written for a CUDA device and a torchvision CIFAR-10 download; this launcher changes only what
stands between it and a CPU-only machine without network, and nothing in their model or simulation:
  - Tensor.cuda / Module.cuda move to the CPU when --device cpu is given (their code calls .cuda(device));
  - numpy >= 1.24 removed np.int, which their AutoAugment policy (built for the training set) still uses;
  - torchvision's CIFAR-10 MD5 check accepts the python-format copy that `prepare` writes from the engine's
    binary files (so their download=True finds the data present and does not reach for the network).

  authors_cos.py prepare --datadir DIR --out PYDATA [--limit N]
      writes PYDATA/cifar-10-batches-py from DIR/cifar-10-batches-bin (the test batch cut to its first N images;
      their script divides correct counts by 10,000 whatever the set's size, so the launcher prints per-step
      accuracies over N itself from their per-step counts).
  authors_cos.py run --repo CHECKOUT -- MAIN.PY ARGUMENTS
      runs CHECKOUT/main.py with those arguments (e.g. --dataset CIFAR10 --datadir PYDATA --net_arch resnet20
      --load_model_name MODEL (without .pth) --presim_len 4 --sim_len 4 --batchsize 50 --device cpu).
"""
import argparse
import os
import pickle
import runpy
import sys

import numpy as np

CIFAR_BYTES = 1 + 3 * 32 * 32


def read_bin(path, limit=None):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % CIFAR_BYTES != 0:
        raise SystemExit(f"authors_cos: {path} is {raw.size} bytes, not a whole number of {CIFAR_BYTES}-byte CIFAR-10 records")
    rec = raw.reshape(-1, CIFAR_BYTES)
    if limit is not None:
        rec = rec[:limit]
    return rec[:, 1:].copy(), [int(v) for v in rec[:, 0]]


def prepare(datadir, out, limit):
    src = os.path.join(datadir, "cifar-10-batches-bin")
    if not os.path.isdir(src):
        raise SystemExit(f"authors_cos: no {src} (the binary CIFAR-10 the engine reads)")
    dst = os.path.join(out, "cifar-10-batches-py")
    os.makedirs(dst, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data, labels = read_bin(os.path.join(src, name + ".bin"), limit if name == "test_batch" else None)
        with open(os.path.join(dst, name), "wb") as f:
            pickle.dump({"data": data, "labels": labels}, f)
    classes = [line.strip() for line in open(os.path.join(src, "batches.meta.txt")) if line.strip()]
    with open(os.path.join(dst, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": classes}, f)
    print(f"wrote {dst} ({'all' if limit is None else limit} test images)")


def run(repo, argv):
    import torch
    import torch.nn as nn
    import torchvision.datasets.cifar as tv_cifar

    if not os.path.isfile(os.path.join(repo, "main.py")):
        raise SystemExit(f"authors_cos: {repo} has no main.py (a checkout of github.com/hzc1208/ANN2SNN_COS?)")
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cuda:0"
    if device == "cpu":
        torch.Tensor.cuda = lambda self, *a, **k: self
        nn.Module.cuda = lambda self, *a, **k: self
    if not hasattr(np, "int"):
        np.int = int
    tv_cifar.check_integrity = lambda *a, **k: True

    # Their mp_test returns correct counts per step; main.py prints them over 10,000. Keep the counts for our line.
    counts = {}
    import importlib
    sys.path.insert(0, repo)
    netfun = importlib.import_module("NetworkFunction")
    inner = netfun.mp_test

    def mp_test(test_dataloader, *a, **k):
        result = inner(test_dataloader, *a, **k)
        counts["correct"], counts["images"] = result.tolist(), len(test_dataloader.dataset)
        return result
    netfun.mp_test = mp_test

    sys.argv = [os.path.join(repo, "main.py")] + argv
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        runpy.run_path("main.py", run_name="__main__")
    finally:
        os.chdir(cwd)
    if counts:
        n = counts["images"]
        print("per-step accuracy over %d images: %s" % (n, " ".join(f"{c / n:.4f}" for c in counts["correct"])))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        rest = sys.argv[2:]
        if len(rest) < 3 or rest[0] != "--repo" or rest[2] != "--":
            raise SystemExit("usage: authors_cos.py run --repo CHECKOUT -- MAIN.PY ARGUMENTS")
        run(rest[1], rest[3:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["prepare"])
    p.add_argument("--datadir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=int)
    a = p.parse_args()
    prepare(a.datadir, a.out, a.limit)


if __name__ == "__main__":
    main()
