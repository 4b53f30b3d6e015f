#!/usr/bin/env python3
"""ONNX test fixtures written by PyTorch 1.13's torch.onnx.export (run with Debian's /usr/bin/python3).

Writes tests/fixtures/onnx/:
  small_cnn.onnx        Conv+BN+ReLU, a residual Add, a BN not after a conv, Concat of two branches,
                        ReLU6 (Clip(0, 6)), AveragePool, GlobalAveragePool, Flatten, Dropout, Gemm (opset 13)
  resnet20.onnx         ResNet-20 (3 stages x 3 basic blocks, plain ReLU, option-B 1x1 shortcuts) at
                        half width (8/16/32 channels) so the file stays well under 1 MB, flattened with
                        y.view(y.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape; opset 11)
  maxpool_cnn.onnx      a CNN with MaxPool (refused unless max pooling is swapped for average pooling; opset 17)
  unsupported_op.onnx   a CNN with a Sigmoid (an op the importer does not support; opset 13)
  matmul_mlp.onnx       Reshape to [N, -1], MatMul + Add, Relu, Gemm with transB = 0 (opset 17, the newest torch 1.13 writes)
  *_input.npy, *_logits.npy   a fixed input batch and PyTorch's output on it
  index.json            per model: file, opset, input shape, output classes, parameter count
The weights are random but with BN statistics set away from their defaults, so folding and inference are
checked for real. Usage: tools/onnx/make_onnx_fixtures.py [OUT_DIR]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_npy(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def randomise_bn(model, generator):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=generator)
            m.bias.data = 0.2 * torch.randn(c, generator=generator)
            m.running_mean.data = 0.2 * torch.randn(c, generator=generator)
            m.running_var.data = 0.5 + torch.rand(c, generator=generator)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.bn_after_add = nn.BatchNorm2d(8)
        self.branch_a = nn.Conv2d(8, 6, 1)
        self.branch_b = nn.Conv2d(8, 4, 3, padding=1)
        self.pool = nn.AvgPool2d(2, 2)
        self.conv3 = nn.Conv2d(10, 12, 3, stride=2, padding=1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        z = self.bn2(self.conv2(y))
        y = F.relu(self.bn_after_add(z + y))
        y = torch.cat([F.relu(self.branch_a(y)), F.relu6(self.branch_b(y))], dim=1)
        y = F.relu(self.conv3(self.pool(y)))
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(self.drop(torch.flatten(y, 1)))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, widths=(8, 16, 32), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for s, w in enumerate(widths):
            for b in range(3):
                layers.append(Block(cin, w, 2 if b == 0 and s > 0 else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.layers(y)
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(y.view(y.size(0), -1))  # the usual CIFAR code: exported as Shape, Gather, Unsqueeze, Concat, Reshape


class MaxPoolCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.conv(x)), 2, 2)
        return self.fc(torch.flatten(y, 1))


class UnsupportedOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.flatten(torch.sigmoid(self.conv(x)), 1))


class MatMulMlp(nn.Module):
    def __init__(self, generator):
        super().__init__()
        self.w1 = nn.Parameter(0.2 * torch.randn(48, 16, generator=generator))
        self.b1 = nn.Parameter(0.1 * torch.randn(16, generator=generator))
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        y = F.relu(torch.matmul(x.reshape(-1, 48), self.w1) + self.b1)
        return self.fc(y)


def export(model, name, input_shape, opset, out_dir, generator, index):
    model.eval()
    x = torch.rand(*input_shape, generator=generator)
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(out_dir, f"{name}.onnx")
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    write_npy(os.path.join(out_dir, f"{name}_input.npy"), x.numpy())
    write_npy(os.path.join(out_dir, f"{name}_logits.npy"), logits.numpy())
    index[name] = {"file": f"{name}.onnx", "opset": opset, "input_shape": list(input_shape),
                   "classes": int(logits.shape[1]), "parameters": sum(p.numel() for p in model.parameters()),
                   "bytes": os.path.getsize(path)}
    print(f"{name}: {os.path.getsize(path)} bytes, logits {tuple(logits.shape)}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "onnx")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    index = {"torch": torch.__version__}
    small = SmallCnn()
    randomise_bn(small, g)
    export(small, "small_cnn", (4, 3, 16, 16), 13, out_dir, g, index)
    resnet = ResNet20()
    randomise_bn(resnet, g)
    export(resnet, "resnet20", (2, 3, 32, 32), 11, out_dir, g, index)
    export(MaxPoolCnn(), "maxpool_cnn", (2, 1, 8, 8), 12, out_dir, g, index)
    export(UnsupportedOp(), "unsupported_op", (2, 1, 8, 8), 13, out_dir, g, index)
    export(MatMulMlp(g), "matmul_mlp", (3, 3, 4, 4), 17, out_dir, g, index)
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
