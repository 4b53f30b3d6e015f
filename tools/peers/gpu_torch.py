#!/usr/bin/env python3
"""PyTorch peer for the GPU benchmarks (bench/Gpu): the same models and shapes, on the same GPU.

Measures, in strict FP32 (TF32 off, like our cuBLAS SGEMM), on the cases of bench/Gpu/GpuBenchmarks.cs:
  * ANN training images/s: QCFS ResNet-20 and VGG-16 at CIFAR-10 shapes (3x32x32, 10 classes), VGG-16 and
    ResNet-34 (torchvision-style stem, average pooling) at ImageNet shapes (3x224x224, 1000 classes);
    SGD momentum, batch 32;
  * SNN inference with COS: time of one run of T = 8 steps (pre-simulation rho = 8) for a batch, and that
    time divided by T ("latency per time step"); BatchNorm folded into the convolutions, the whole
    spike train run layer by layer as [T*B, ...] (the engine's execution model); CIFAR batches 1 and 128,
    ImageNet batch 2.
Writes a JSON summary (--out) and prints one line per figure. The SNN follows engine/METHOD.md §2–4.
"""
import argparse, json, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

# QCFS and the residual block with the reference names live next to the fixture script; the peer reuses them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from qcfs_modules import QCFS, BasicBlock  # noqa: E402


VGG16 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']


class VGG(nn.Module):
    def __init__(self, cfg=VGG16, classes=10, levels=4, classifier_in=512):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == 'M':
                layers.append(nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), QCFS(levels)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(classifier_in, 4096), QCFS(levels), nn.Dropout(0.5),
                                        nn.Linear(4096, 4096), QCFS(levels), nn.Dropout(0.5), nn.Linear(4096, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class ResNet(nn.Module):
    """ResNet-20 (CIFAR: 3x3 stem) or ResNet-34 (ImageNet: 7x7 stride-2 stem + AvgPool 3x3 stride 2, as the engine's
    torchvision-style stem), stages of BasicBlocks, global average pool, fc."""

    def __init__(self, widths, blocks, classes=10, levels=4, imagenet_stem=False):
        super().__init__()
        c = widths[0]
        self.conv1 = (nn.Sequential(nn.Conv2d(3, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c), QCFS(levels), nn.AvgPool2d(3, 2, 1))
                      if imagenet_stem else nn.Sequential(nn.Conv2d(3, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), QCFS(levels)))
        stages = []
        for s, (cout, n) in enumerate(zip(widths, blocks)):
            layers = []
            for i in range(n):
                layers.append(BasicBlock(c, cout, 2 if i == 0 and s > 0 else 1, levels))
                c = cout
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.stages(self.conv1(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# name -> (constructor, image size); the cases of bench/Gpu/GpuBenchmarks.cs (GpuModelCase).
MODELS = {
    'resnet20 CIFAR': (lambda: ResNet([16, 32, 64], [3, 3, 3]), 32),
    'vgg16 CIFAR': (lambda: VGG(), 32),
    'vgg16 ImageNet': (lambda: VGG(classes=1000, classifier_in=512 * 7 * 7), 224),
    'resnet34 ImageNet': (lambda: ResNet([64, 128, 256, 512], [3, 4, 6, 3], classes=1000, imagenet_stem=True), 224),
}
SNN_CASES = [('resnet20 CIFAR', 1), ('resnet20 CIFAR', 128), ('vgg16 CIFAR', 1), ('vgg16 CIFAR', 128),
             ('vgg16 ImageNet', 2), ('resnet34 ImageNet', 2)]
TRAIN_CASES = ['resnet20 CIFAR', 'vgg16 CIFAR', 'vgg16 ImageNet', 'resnet34 ImageNet']


class IFCOS(nn.Module):
    """IF neurons with offset-spike calibration over a time-major spike train [T*B, ...] (engine/METHOD.md §3–4)."""

    def __init__(self, theta, steps, presim):
        super().__init__()
        self.theta, self.steps, self.presim = float(theta), steps, presim

    def forward(self, z):
        T = self.steps
        cur = (z / self.theta).reshape(T, -1, *z.shape[1:])
        v0 = torch.full_like(cur[0], 0.5)
        if self.presim > 0:
            v = v0.clone()
            n = torch.zeros_like(v)
            umin = torch.full_like(v, 1000.0)
            wmax = torch.full_like(v, -1000.0)
            for t in range(self.presim):
                v = v + cur[t]
                s = v >= 1.0
                n = n + s
                umin = torch.where(s, torch.minimum(umin, v), umin)
                wmax = torch.where(s, wmax, torch.maximum(wmax, v))
                v = v - s.float()
            v0 = torch.where((v < 0) & (n > 0), 0.5 - torch.clamp(umin - 0.999, min=1.0),
                             torch.where(v >= 1.0, 0.5 + torch.clamp(1.001 - wmax, min=1.0), v0))
        v = v0
        out = torch.empty_like(cur)
        for t in range(T):
            v = v + cur[t]
            s = (v >= 1.0).float()
            v = v - s
            out[t] = s * self.theta
        return out.reshape(z.shape)


def fold_bn(seq_or_model):
    """Folds each Conv2d+BatchNorm2d pair (eval statistics) into the conv, replacing the BN by Identity."""
    for module in seq_or_model.modules():
        children = list(module.named_children())
        for (n1, a), (n2, b) in zip(children, children[1:]):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                setattr(module, n1, torch.nn.utils.fusion.fuse_conv_bn_eval(a, b))
                setattr(module, n2, nn.Identity())
    return seq_or_model


def to_snn(model, steps, presim):
    for module in model.modules():
        for name, child in module.named_children():
            if isinstance(child, QCFS):
                setattr(module, name, IFCOS(child.up.item(), steps, presim))
    return model


def cuda_time(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def bench_training(name, model, batch, size, warmup=3, repeat=10):
    model = model.cuda().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 3, size, size, device='cuda') * 4 - 2
    y = torch.randint(0, model.fc.out_features if hasattr(model, 'fc') else model.classifier[-1].out_features, (batch,), device='cuda')

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    seconds = cuda_time(step, warmup, repeat)
    return {'what': f'{name} training step', 'batch': batch, 'ms': seconds * 1e3, 'images_per_s': batch / seconds}


def bench_snn(name, model, batch, size, steps, presim, warmup=2, repeat=10):
    model = to_snn(fold_bn(model.cuda().eval()), max(steps, presim), presim)
    x = torch.rand(batch, 3, size, size, device='cuda') * 4 - 2
    n = max(steps, presim)

    def run():
        with torch.no_grad():
            out = model(x.unsqueeze(0).expand(n, *x.shape).reshape(n * batch, 3, size, size))
            out.reshape(n, batch, -1).cumsum(0).argmax(-1)

    seconds = cuda_time(run, warmup, repeat)
    return {'what': f'{name} SNN COS run', 'batch': batch, 'T': steps, 'rho': presim,
            'ms_run': seconds * 1e3, 'ms_per_step': seconds * 1e3 / steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='torch_peer.json')
    ap.add_argument('--train-batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=8)
    ap.add_argument('--presim', type=int, default=8)
    ap.add_argument('--only', default='', help='comma-separated substrings of case names to run (default: all)')
    ap.add_argument('--tf32', action='store_true', help='allow TF32 (default: strict FP32 like the engine)')
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit('gpu_torch.py: no CUDA device visible to PyTorch (torch %s)' % torch.__version__)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    info = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0), 'cudnn': torch.backends.cudnn.version(), 'tf32': a.tf32}
    print(info, flush=True)
    results = []
    wanted = lambda name: not a.only or any(w.strip() in name for w in a.only.split(','))
    for name, batch in SNN_CASES:
        if wanted(name):
            make, size = MODELS[name]
            results.append(bench_snn(name, make(), batch, size, a.steps, a.presim))
            print(results[-1], flush=True)
    for name in TRAIN_CASES:
        if wanted(name):
            make, size = MODELS[name]
            results.append(bench_training(name, make(), a.train_batch, size))
            print(results[-1], flush=True)
    with open(a.out, 'w') as f:
        json.dump({'info': info, 'results': results}, f, indent=1)


if __name__ == '__main__':
    main()
