#!/usr/bin/env python3
"""PyTorch peer for the GPU benchmarks (bench/Gpu): the same models and shapes, on the same GPU.

Measures, in strict FP32 (TF32 off, like our cuBLAS SGEMM):
  * ANN training images/s: QCFS ResNet-20 and VGG-16 (CIFAR-10 shapes), SGD momentum, batch 128;
  * SNN inference with COS: time of one run of T steps (pre-simulation rho) for a batch, and that
    time divided by T ("latency per time step"); BatchNorm folded into the convolutions, the whole
    spike train run layer by layer as [T*B, ...] (the engine's execution model).
Writes a JSON summary (--out) and prints one line per figure. Follows engine/METHOD.md.
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class GradFloor(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, g):
        return g


class QCFS(nn.Module):
    def __init__(self, levels=4, up=8.0):
        super().__init__()
        self.up = nn.Parameter(torch.tensor([up]))
        self.levels = levels

    def forward(self, x):
        x = x / self.up
        x = GradFloor.apply(x * self.levels + 0.5) / self.levels
        return torch.clamp(x, 0, 1) * self.up


VGG16 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']


class VGG(nn.Module):
    def __init__(self, cfg=VGG16, classes=10, levels=4):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == 'M':
                layers.append(nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), QCFS(levels)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(512, 4096), QCFS(levels), nn.Dropout(0.5),
                                        nn.Linear(4096, 4096), QCFS(levels), nn.Dropout(0.5), nn.Linear(4096, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


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
    def __init__(self, classes=10, levels=4):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), QCFS(levels))
        stages, c = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            blocks = []
            for i in range(3):
                blocks.append(BasicBlock(c, cout, stride if i == 0 else 1, levels))
                c = cout
            stages.append(nn.Sequential(*blocks))
        self.conv2_x, self.conv3_x, self.conv4_x = stages
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.conv4_x(self.conv3_x(self.conv2_x(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class IFCOS(nn.Module):
    """IF neurons with offset-spike calibration over a time-major spike train [T*B, ...] (engine/METHOD.md §3-4)."""

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


def bench_training(name, model, batch, warmup=3, repeat=10):
    model = model.cuda().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device='cuda')
    y = torch.randint(0, 10, (batch,), device='cuda')

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    seconds = cuda_time(step, warmup, repeat)
    return {'what': f'{name} training step', 'batch': batch, 'ms': seconds * 1e3, 'images_per_s': batch / seconds}


def bench_snn(name, model, batch, steps, presim, warmup=2, repeat=10):
    model = to_snn(fold_bn(model.cuda().eval()), steps, presim)
    x = torch.randn(batch, 3, 32, 32, device='cuda')
    n = max(steps, presim)

    def run():
        with torch.no_grad():
            out = model(x.unsqueeze(0).expand(n, *x.shape).reshape(n * batch, 3, 32, 32))
            out.reshape(n, batch, -1).cumsum(0).argmax(-1)

    seconds = cuda_time(run, warmup, repeat)
    return {'what': f'{name} SNN COS run', 'batch': batch, 'T': steps, 'rho': presim,
            'ms_run': seconds * 1e3, 'ms_per_step': seconds * 1e3 / steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='torch_peer.json')
    ap.add_argument('--train-batch', type=int, default=128)
    ap.add_argument('--snn-batches', default='1,128')
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--presim', type=int, default=4)
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
    for name, make in [('ResNet-20', ResNet20), ('VGG-16', VGG)]:
        results.append(bench_training(name, make(), a.train_batch))
        print(results[-1], flush=True)
        for b in [int(v) for v in a.snn_batches.split(',')]:
            results.append(bench_snn(name, make(), b, a.steps, a.presim))
            print(results[-1], flush=True)
    with open(a.out, 'w') as f:
        json.dump({'info': info, 'results': results}, f, indent=1)


if __name__ == '__main__':
    main()
