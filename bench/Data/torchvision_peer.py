#!/usr/bin/python3
"""Peer measurement for LoaderBench: the same CIFAR-10 training augmentation in torchvision/Pillow
(RandomCrop 32 pad 4, flip, AutoAugment CIFAR-10 policy, ToTensor, Normalize, Cutout 16) over the
first 5,120 training images, batched by 128 with default_collate, one process, one thread.
Run with Debian's /usr/bin/python3:  /usr/bin/python3 bench/Data/torchvision_peer.py
"""
import os
import time
import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from torch.utils.data import default_collate

torch.set_num_threads(1)
# The shared data: $SPIKEENGINE_DATA, else ../shared/data beside the repository.
data = os.environ.get("SPIKEENGINE_DATA") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/data")
raw = np.fromfile(os.path.join(data, "cifar-10-batches-bin/data_batch_1.bin"), dtype=np.uint8).reshape(-1, 3073)[:5120]
images = [Image.fromarray(r[1:].reshape(3, 32, 32).transpose(1, 2, 0)) for r in raw]


class Cutout:
    """DeVries & Taylor, on the normalised tensor (as the QCFS reference applies it)."""
    def __init__(self, length): self.length = length
    def __call__(self, img):
        h, w = img.shape[1:]
        y, x = np.random.randint(h), np.random.randint(w)
        y1, y2 = np.clip(y - self.length // 2, 0, h), np.clip(y + self.length // 2, 0, h)
        x1, x2 = np.clip(x - self.length // 2, 0, w), np.clip(x + self.length // 2, 0, w)
        img[:, y1:y2, x1:x2] = 0
        return img


full = transforms.Compose([
    transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
    transforms.AutoAugment(transforms.AutoAugmentPolicy.CIFAR10),
    transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)), Cutout(16)])
plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))])

for name, t in [("full augmentation", full), ("no augmentation", plain)]:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for b in range(0, len(images), 128):
            batch = default_collate([t(im) for im in images[b:b + 128]])
        best = min(best, time.perf_counter() - start)
    print(f"torchvision {name}: {best * 1000:.1f} ms for {len(images)} images = {len(images) / best:,.0f} images/s (best of 3, 1 thread)")
