#!/bin/bash
# The training of the shipped CIFAR-10 ResNet-20 (QCFS, L = 4): tools/Runner/assets/resnet20-cifar10-L4.safetensors.
# Run from the repository root; rerun the same command to resume after an interruption (Ctrl-C, SIGTERM, a crash):
# the last finished epoch's checkpoint and training_log.csv are kept in OUT and continued.
#   tools/results/train_resnet20_cifar10.sh [DATADIR] [OUT] [Runner options, e.g. --threads 2]
# EPOCHS (default 80) and AUGMENT (default basic: crop + flip; full adds AutoAugment and Cutout) change the schedule's
# length and augmentation, e.g. the 200-epoch run of issue 14 under way (tools/results/resume/README.md):
#   EPOCHS=200 AUGMENT=full tools/results/train_resnet20_cifar10.sh ../shared/data runs/r20-full200 --threads 2
# DATADIR holds cifar-10-batches-bin/ (default ../shared/data). OUT (default runs/resnet20-cifar10) gets
# CIFAR10-resnet20-L4/{best,last}.safetensors, training_log.csv, training_curve.png, train.json and, at the end, the
# exported resnet20-cifar10-L4.safetensors (copy it to tools/Runner/assets/ to ship it).
set -euo pipefail
DATADIR=${1:-../shared/data}
OUT=${2:-runs/resnet20-cifar10}
shift $(( $# < 2 ? $# : 2 ))
RUNNER=${RUNNER:-dotnet run -c Release --project tools/Runner --}
EPOCHS=${EPOCHS:-80}
AUGMENT=${AUGMENT:-basic}
case $AUGMENT in basic) augmentation="crop + flip" ;; full) augmentation="crop + flip + AutoAugment + Cutout" ;;
  *) echo "AUGMENT must be basic or full (got $AUGMENT)" >&2; exit 2 ;; esac

# One cosine schedule from scratch: SGD (momentum 0.9, weight decay 5e-4 on every parameter, λ included), batch 64,
# learning rate 0.05 reached by a one-epoch linear warm-up, then cosine to 0; crop + flip augmentation (AutoAugment
# and Cutout pay off only over the reference's 300 epochs). Every QCFS threshold starts at λ = 2 instead of the
# reference's 8: with L = 4, λ = 8 quantises in steps of two standard deviations of a unit's normalised input and the
# first epochs learn slowly (METHOD.md §1; the trained λ settle between 1 and 3).
# An interrupted run writes train.json too, with "cancelled": true; only a finished one is not run again.
if ! grep -qs '"cancelled": false' "$OUT/train.json"; then
  resume=()
  [ -f "$OUT/CIFAR10-resnet20-L4/last.safetensors" ] && resume=(--resume)
  mkdir -p "$OUT"
  $RUNNER train --dataset CIFAR10 --datadir "$DATADIR" --net_arch resnet20 --L 4 --augment "$AUGMENT" --batchsize 64 \
    --wd 5e-4 --seed 42 --trainann_epochs $EPOCHS --warmup_epochs 1 --lr 0.05 --initial_threshold 2 \
    --savedir "$OUT" --curve "$OUT/training_curve.png" --json "$OUT/train.json" "${resume[@]}" "$@"
else
  echo "$OUT: finished (train.json), kept"
fi

# The shipped file: the best epoch, with notes on how it was trained (the model's own metadata — arch, classes, L,
# data set, normalisation, epoch and test accuracy — comes with it).
best=$(awk -F, 'NR > 1 && $5 > top { top = $5; epoch = $1 } END { print epoch }' "$OUT/CIFAR10-resnet20-L4/training_log.csv")
$RUNNER export --load_model_name "$OUT/CIFAR10-resnet20-L4/best.safetensors" --format safetensors \
  --out "$OUT/resnet20-cifar10-L4.safetensors" \
  --meta "epochs=$best" \
  --meta "schedule=best of $EPOCHS epochs (epoch $best): SGD momentum 0.9, wd 5e-4, batch 64, lr 0.05 (1 warm-up epoch) cosine to 0; initial λ 2; $augmentation; seed 42" \
  --meta "data=CIFAR-10 50,000 training images, accuracy on the 10,000 test images of the cifar-10-batches-bin copy in ../shared/data (PROVENANCE.txt: 5,000 exact originals, the rest decoded from JPEG)" \
  --meta "command=tools/results/train_resnet20_cifar10.sh"
