#!/usr/bin/python3
"""PyTorch side of `dotnet run -c Release --project bench -- compare`.

--serve: reads one JSON request per line on stdin, answers one JSON line on stdout, so the engine and
this peer can alternate case by case in one session:
  {"op": "info"}                                   -> torch version, threads, BLAS, OPENBLAS_CORETYPE
  {"op": "prepare", "case": C, "export": DIR, "warmup_seconds": S}
                                                   -> builds the case (COS: writes the randomised model and
                                                      input to DIR as safetensors, for the engine to load) and
                                                      runs it once, then on until S seconds have passed (the
                                                      engine warms its own side up as long)
  {"op": "run", "case": C, "repeats": n}           -> {"seconds": [...]} wall time per repetition
Cases: gemm1024, train:resnet20, train:vgg16, cos:resnet20, cos:vgg16.
--gemm: prints the GFLOP/s of torch.mm 1024^3 (best of several) and exits; the compare command runs it
under each OPENBLAS_CORETYPE to pick the best one.

The training step is tools/peers/train_step_torch.py's; COS inference is snn_torch.py's (the from-the-spec
reference of tools/reference/cos_reference.py, T = 4, rho = 4, batch 32, thresholds at the 99th percentile).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import cos_reference as ref  # noqa: E402
from train_step_torch import peer_model  # noqa: E402

TRAIN_BATCH, COS_BATCH, COS_STEPS, COS_RHO = 64, 32, 4, 4


def gemm_case():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return lambda: torch.mm(a, b), {"flops": 2 * 1024 ** 3}


def train_case(arch):
    torch.manual_seed(1)
    model = peer_model(arch)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(TRAIN_BATCH, 3, 32, 32) * 4 - 2
    y = torch.arange(TRAIN_BATCH) % 10
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step, {"batch": TRAIN_BATCH}


def cos_case(arch, export):
    model, chw = ref.build(arch, 10, 4, 1)
    x = torch.randn(COS_BATCH, *chw, generator=torch.Generator().manual_seed(1))
    ref.randomise(model, x, 0)
    model.eval()
    if export:
        os.makedirs(export, exist_ok=True)
        ref.write_safetensors(os.path.join(export, f"{arch}.model.safetensors"), dict(model.state_dict()), {"arch": arch})
        ref.write_safetensors(os.path.join(export, f"{arch}.input.safetensors"), {"input": x}, {"arch": arch})
    sim = {}
    model.sim = sim
    names = ref.convert(model, sim)

    def run():
        ref.simulate(model, x, COS_STEPS, COS_RHO, 1)
    run()
    spikes = sum(float(sim["spikes"][k][:COS_STEPS].sum()) for k in names)
    neurons = sum(float(sim["v0"][k].numel()) for k in names)
    return run, {"batch": COS_BATCH, "firing_rate": spikes / (neurons * COS_STEPS)}


def build(case, export):
    kind, _, arch = case.partition(":")
    if kind == "gemm1024":
        return gemm_case()
    if kind == "train":
        return train_case(arch)
    if kind == "cos":
        return cos_case(arch, export)
    raise SystemExit(f"compare_peer: unknown case {case!r}")


def info():
    blas = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line or "MKLDNN" in line]
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto-detected)"),
            "blas_library": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"), "config": blas}


def gemm_gflops(repeats=10):
    fn, extra = gemm_case()
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return extra["flops"] / best / 1e9


def serve():
    cases = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if req["op"] == "info":
                answer = info()
            elif req["op"] == "prepare":
                fn, extra = build(req["case"], req.get("export"))
                # warm-up: at least once, and for warmup_seconds (as long as the engine warms up its own side)
                warm_until = time.perf_counter() + float(req.get("warmup_seconds", 0))
                fn()
                while time.perf_counter() < warm_until:
                    fn()
                cases[req["case"]] = fn
                answer = {"extra": extra}
            elif req["op"] == "run":
                fn = cases[req["case"]]
                time.sleep(0.5)  # the engine's worker threads go idle first (the engine waits likewise)
                times = []
                for _ in range(int(req.get("repeats", 3))):
                    start = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - start)
                answer = {"seconds": times}
            else:
                answer = {"error": f"unknown op {req['op']!r}"}
        except Exception as e:  # reported to the engine side, which names the case
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--gemm", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.gemm:
        print(json.dumps({"gflops": gemm_gflops(), **info()}))
    elif args.serve:
        serve()
    else:
        ap.error("give --serve or --gemm")


if __name__ == "__main__":
    main()
