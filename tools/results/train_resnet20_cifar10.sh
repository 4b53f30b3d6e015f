#!/bin/bash
# The training of the shipped CIFAR-10 ResNet-20 (QCFS, L = 4): tools/Runner/assets/resnet20-cifar10-L4.safetensors.
# Run from the repository root; rerun the same command to resume after an interruption (Ctrl-C, SIGTERM, a crash):
# the last finished epoch's checkpoint and training_log.csv are kept in OUT and continued.
#   tools/results/train_resnet20_cifar10.sh [DATADIR] [OUT] [Runner options, e.g. --threads 2]
# DATADIR holds cifar-10-batches-bin/ (default ../shared/data); OUT (default runs/resnet20-cifar10) gets
# CIFAR10-resnet20-L4/{best,last}.safetensors, training_log.csv, training_curve.png and train.json.
set -euo pipefail
DATADIR=${1:-../shared/data}
OUT=${2:-runs/resnet20-cifar10}
shift $(( $# < 2 ? $# : 2 ))
RUNNER=${RUNNER:-dotnet run -c Release --project tools/Runner --}
RESUME=()
[ -f "$OUT/CIFAR10-resnet20-L4/last.safetensors" ] && RESUME=(--resume)
mkdir -p "$OUT"
# Schedule: SGD (momentum 0.9, weight decay 5e-4 on every parameter, λ included), batch 64, learning rate 0.05 reached
# by a one-epoch linear warm-up, then cosine to 0 over the remaining 39 epochs; crop + flip augmentation (AutoAugment
# and Cutout pay off only over the reference's 300 epochs).
$RUNNER train --dataset CIFAR10 --datadir "$DATADIR" --net_arch resnet20 --L 4 \
  --trainann_epochs 40 --warmup_epochs 1 --augment basic --batchsize 64 --lr 0.05 --wd 5e-4 --seed 42 \
  --savedir "$OUT" --curve "$OUT/training_curve.png" --json "$OUT/train.json" "${RESUME[@]}" "$@"
