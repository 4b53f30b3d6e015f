#!/usr/bin/python3
"""PyTorch peer for bench/Kernels: torch.mm and conv2d forward/backward at the same shapes.

Run with Debian's PyTorch: /usr/bin/python3 tools/peers/gemm_torch.py [--threads 2]
Prints GFLOP/s (2 flops per multiply-add, best of several timed repeats after warm-up), from wall time
and from process CPU time (all threads), the latter being the fairer figure on a shared, loaded machine.
"""
import argparse
import time

import torch
import torch.nn.functional as F

GEMM_CASES = [  # (m, n, k, transA, transB), as GemmBenchmarks.Cases
    (1024, 1024, 1024, False, False),
    (256, 4096, 1152, False, False),
    (64, 16384, 576, False, False),
    (1024, 1024, 1024, True, False),
    (1024, 1024, 1024, False, True),
]

CONV_CASES = [  # (layer, N, C, H, K, kernel, stride, pad), as ConvBenchmarks.Cases
    ("vgg16 64ch 32x32", 64, 64, 32, 64, 3, 1, 1),
    ("vgg16 256ch 8x8", 64, 256, 8, 256, 3, 1, 1),
    ("vgg16 512ch 2x2", 64, 512, 2, 512, 3, 1, 1),
    ("resnet20 16ch 32x32", 64, 16, 32, 16, 3, 1, 1),
    ("resnet20 64ch 8x8", 64, 64, 8, 64, 3, 1, 1),
    ("resnet20 32->64 s2", 64, 32, 16, 64, 3, 2, 1),
]


CPU_TIMES = {}


def best_time(fn, repeats):
    """Best wall time; the best process CPU time (all threads) of the same repeats goes to CPU_TIMES[fn]."""
    for _ in range(2):
        fn()
    best = best_cpu = float("inf")
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    CPU_TIMES[fn] = best_cpu
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads")
    with torch.no_grad():
        for m, n, k, ta, tb in GEMM_CASES:
            a = torch.rand(k, m) * 2 - 1 if ta else torch.rand(m, k) * 2 - 1
            b = torch.rand(n, k) * 2 - 1 if tb else torch.rand(k, n) * 2 - 1
            opa, opb = (a.t() if ta else a), (b.t() if tb else b)
            c = torch.empty(m, n)
            fn = lambda: torch.mm(opa, opb, out=c)
            t = best_time(fn, args.repeats)
            name = f"{m}x{n}x{k}{' At' if ta else ''}{' Bt' if tb else ''}"
            flops = 2.0 * m * n * k
            print(f"gemm {name:24s} {t * 1e3:9.3f} ms {flops / t / 1e9:8.1f} GFLOP/s wall {flops / CPU_TIMES[fn] / 1e9:8.1f} per cpu-second")
    for layer, n, c, h, k, r, s, p in CONV_CASES:
        x = torch.rand(n, c, h, h) * 2 - 1
        w = torch.rand(k, c, r, r) * 2 - 1
        with torch.no_grad():
            y = F.conv2d(x, w, stride=s, padding=p)
        dy = torch.rand_like(y) * 2 - 1
        flops = 2.0 * n * k * y.shape[2] * y.shape[3] * c * r * r
        with torch.no_grad():
            fwd = lambda: F.conv2d(x, w, stride=s, padding=p)
            t_f = best_time(fwd, args.repeats)
            # The kernels autograd itself calls for conv2d's backward.
            def backward(mask):
                return torch.ops.aten.convolution_backward(dy, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
            bwd_data = lambda: backward([True, False, False])
            bwd_weight = lambda: backward([False, True, False])
            t_d = best_time(bwd_data, args.repeats)
            t_w = best_time(bwd_weight, args.repeats)
        for op, t, fn in (("forward", t_f, fwd), ("backward-data", t_d, bwd_data), ("backward-weight", t_w, bwd_weight)):
            print(f"conv {layer:22s} {op:16s} {t * 1e3:9.3f} ms {flops / t / 1e9:8.1f} GFLOP/s wall {flops / CPU_TIMES[fn] / 1e9:8.1f} per cpu-second")


if __name__ == "__main__":
    main()
