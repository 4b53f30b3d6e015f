#!/bin/bash
# The training of the shipped CIFAR-10 ResNet-20 (QCFS, L = 4): tools/Runner/assets/resnet20-cifar10-L4.safetensors.
# Run from the repository root; rerun the same command to resume after an interruption (Ctrl-C, SIGTERM, a crash):
# the last finished epoch's checkpoint and training_log.csv are kept in OUT and continued.
#   tools/results/train_resnet20_cifar10.sh [DATADIR] [OUT] [Runner options, e.g. --threads 2]
# DATADIR holds cifar-10-batches-bin/ (default ../shared/data). OUT (default runs/resnet20-cifar10) gets, for each
# phase, CIFAR10-resnet20-L4/{best,last}.safetensors, training_log.csv, training_curve.png and train.json;
# phase 2 writes into OUT/phase2, and its best.safetensors is the shipped checkpoint.
set -euo pipefail
DATADIR=${1:-../shared/data}
OUT=${2:-runs/resnet20-cifar10}
shift $(( $# < 2 ? $# : 2 ))
RUNNER=${RUNNER:-dotnet run -c Release --project tools/Runner --}

# phase DIR [train options]: one training run into DIR, resumed when DIR holds an unfinished one, skipped when finished.
phase() {
  local dir=$1
  shift
  # An interrupted run writes train.json too, with "cancelled": true; only a finished one is skipped.
  if grep -qs '"cancelled": false' "$dir/train.json"; then echo "$dir: finished (train.json), kept"; return; fi
  local resume=()
  [ -f "$dir/CIFAR10-resnet20-L4/last.safetensors" ] && resume=(--resume)
  mkdir -p "$dir"
  $RUNNER train --dataset CIFAR10 --datadir "$DATADIR" --net_arch resnet20 --L 4 --augment basic --batchsize 64 \
    --wd 5e-4 --seed 42 --savedir "$dir" --curve "$dir/training_curve.png" --json "$dir/train.json" "${resume[@]}" "$@"
}

# Phase 1 (40 epochs): SGD (momentum 0.9, weight decay 5e-4 on every parameter, λ included), batch 64, learning rate
# 0.05 reached by a one-epoch linear warm-up, then cosine to 0; crop + flip augmentation (AutoAugment and Cutout pay
# off only over the reference's 300 epochs). It ends at 85 % test accuracy with train ≈ test: under-trained, not
# over-fitted.
phase "$OUT" --trainann_epochs 40 --warmup_epochs 1 --lr 0.05 "$@"
# Phase 2 (24 epochs): a warm restart from phase 1's last epoch, peak learning rate 0.02, cosine to 0 again.
phase "$OUT/phase2" --init_from "$OUT/CIFAR10-resnet20-L4/last.safetensors" \
  --trainann_epochs 24 --warmup_epochs 1 --lr 0.02 "$@"

# The shipped file: phase 2's best epoch, with notes on how it was trained (the model's own metadata — arch, classes,
# L, data set, normalisation, epoch and test accuracy — comes with it). Copy it to tools/Runner/assets/ to ship it.
best=$(awk -F, 'NR > 1 && $5 > top { top = $5; epoch = $1 } END { print epoch }' "$OUT/phase2/CIFAR10-resnet20-L4/training_log.csv")
$RUNNER export --load_model_name "$OUT/phase2/CIFAR10-resnet20-L4/best.safetensors" --format safetensors \
  --out "$OUT/resnet20-cifar10-L4.safetensors" \
  --meta "epochs=$((40 + best))" \
  --meta "schedule=phase 1: 40 epochs, SGD momentum 0.9, wd 5e-4, batch 64, lr 0.05 (1 warm-up epoch) cosine to 0; phase 2: from phase 1's last epoch, $best of 24 epochs, lr 0.02 (1 warm-up epoch) cosine to 0; crop + flip; seed 42" \
  --meta "data=CIFAR-10 50,000 training images, accuracy on the 10,000 test images of the cifar-10-batches-bin copy in ../shared/data (PROVENANCE.txt: 5,000 exact originals, the rest decoded from JPEG)" \
  --meta "command=tools/results/train_resnet20_cifar10.sh"
# Both phases as one curve: OUT/all/training_log.csv (epochs 1–64) and OUT/all/training_curve.png.
$RUNNER curve --out "$OUT/all" "$OUT/CIFAR10-resnet20-L4/training_log.csv" "$OUT/phase2/CIFAR10-resnet20-L4/training_log.csv"
