#!/usr/bin/env python3
"""A plain ReLU CNN trained on Fashion-MNIST in PyTorch and exported to ONNX: the input of the README's
'bring your own network' walk-through and of the eval-vs-PyTorch test (run with Debian's /usr/bin/python3;
the data comes from Debian's dataset-fashion-mnist package).

Writes tests/fixtures/onnx/fashion_mnist_cnn.onnx and fashion_mnist_cnn.json (PyTorch's test accuracy on the
10,000 test images, pixels scaled to [0, 1] without normalisation, which is what the engine feeds an imported
graph by default). Usage: tools/onnx/train_fashion_mnist.py [--epochs 2] [--out DIR] [--data DIR]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Cnn(nn.Module):
    """conv-BN-ReLU-avgpool twice, then a ReLU hidden layer with dropout: a typical user network without QCFS."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = self.drop(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx"))
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    load = lambda name: read_idx(os.path.join(a.data, name))
    x_train = torch.from_numpy(load("train-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    y_train = torch.from_numpy(load("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = torch.from_numpy(load("t10k-images-idx3-ubyte.gz").copy()).float().div(255).unsqueeze(1)
    y_test = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = Cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.time()
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} ({time.time() - start:.0f} s)")

    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum()) for i in range(0, len(x_test), 1000))
    accuracy = correct / len(x_test)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "fashion_mnist_cnn.onnx")
    torch.onnx.export(model, x_test[:1], path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    info = {"torch": torch.__version__, "epochs": a.epochs, "optimizer": "Adam lr 1e-3, batch 128", "seed": 0,
            "test_images": len(x_test), "test_correct": correct, "test_accuracy": accuracy,
            "input": "pixels / 255, no normalisation", "onnx_bytes": os.path.getsize(path),
            "training_seconds": round(time.time() - start, 1)}
    with open(os.path.join(a.out, "fashion_mnist_cnn.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
