#!/bin/bash
# The training of the shipped CIFAR-10 ResNet-20 (QCFS, L = 4): tools/Runner/assets/resnet20-cifar10-L4.safetensors.
# Run from the repository root; rerun the same command to resume after an interruption (Ctrl-C, SIGTERM, a crash):
# the last finished epoch's checkpoint and training_log.csv of the phase under way are kept in OUT and continued, and
# finished phases are skipped.
#   tools/results/train_resnet20_cifar10.sh [DATADIR] [OUT] [Runner options, e.g. --threads 2]
# DATADIR holds cifar-10-batches-bin/ (default ../shared/data). OUT (default runs/resnet20-cifar10) gets one folder of
# checkpoints per phase — the main run in OUT/CIFAR10-resnet20-L4/, fine-tune phase i in OUT/ftI/CIFAR10-resnet20-L4/
# ({best,last}.safetensors, training_log.csv), each with its training_curve.png and train.json — and, at the end, the
# phases as one curve in OUT/all-phases/ (training_log.csv, training_curve.png) and the exported
# resnet20-cifar10-L4.safetensors (copy it to tools/Runner/assets/ to ship it).
#
# The schedule (tools/results/README.md says how it was chosen):
#   EPOCHS, AUGMENT   the main run from scratch (default 200 epochs, full = crop + flip + AutoAugment + Cutout;
#                     basic = crop + flip);
#   FINETUNE          then short cycles from the previous phase's model, crop + flip only, no warm-up: a space-separated
#                     list of EPOCHS:LR:SEED[:LABEL_SMOOTHING[:SWA]] (default "22:0.005:43:0.1 20:0.003:44:0.1 16:0.002:45:0.1:16";
#                     "" for none). A phase runs a cosine from LR to 0 and its model is its best epoch; with SWA = N > 0
#                     its last N epochs run at the constant LR instead and its model is their weight average
#                     (train --swa_epochs N --swa_lr LR: swa.safetensors, BatchNorm statistics measured again).
# The model shipped before this one: EPOCHS=80 AUGMENT=basic FINETUNE= tools/results/train_resnet20_cifar10.sh
set -euo pipefail
DATADIR=${1:-../shared/data}
OUT=${2:-runs/resnet20-cifar10}
shift $(( $# < 2 ? $# : 2 ))
RUNNER=${RUNNER:-dotnet run -c Release --project tools/Runner --}
EPOCHS=${EPOCHS:-200}
AUGMENT=${AUGMENT:-full}
FINETUNE=${FINETUNE-22:0.005:43:0.1 20:0.003:44:0.1 16:0.002:45:0.1:16}
case $AUGMENT in basic) augmentation="crop + flip" ;; full) augmentation="crop + flip + AutoAugment + Cutout" ;;
  *) echo "AUGMENT must be basic or full (got $AUGMENT)" >&2; exit 2 ;; esac
CKPT=CIFAR10-resnet20-L4

# One train run into folder $1 (the other arguments go to train); resumed when interrupted, skipped when finished.
# An interrupted run writes train.json too, with "cancelled": true; only a finished one is not run again.
phase() {
  local dir=$1; shift
  if grep -qs '"cancelled": false' "$dir/train.json"; then echo "$dir: finished (train.json), kept"; return; fi
  local resume=()
  [ -f "$dir/$CKPT/last.safetensors" ] && resume=(--resume)
  mkdir -p "$dir"
  $RUNNER train --dataset CIFAR10 --datadir "$DATADIR" --net_arch resnet20 --L 4 --batchsize 64 --wd 5e-4 \
    --savedir "$dir" --curve "$dir/training_curve.png" --json "$dir/train.json" "${resume[@]}" "$@" "${extra[@]}"
}
extra=("$@")

# The epoch of a phase's best test accuracy (its best.safetensors), from its training_log.csv.
best_epoch() { awk -F, 'NR > 1 && $5 > top { top = $5; epoch = $1 } END { print epoch }' "$1/$CKPT/training_log.csv"; }
# A phase's model: the weight average when it kept one, else its best epoch; and the epochs that made it.
phase_model() { if [ -f "$1/$CKPT/swa.safetensors" ]; then echo "$1/$CKPT/swa.safetensors"; else echo "$1/$CKPT/best.safetensors"; fi; }
phase_epochs() { if [ -f "$1/$CKPT/swa.safetensors" ]; then wc -l < "$1/$CKPT/training_log.csv" | awk '{ print $1 - 1 }'; else best_epoch "$1"; fi; }

# The main run: one cosine schedule from scratch. SGD (momentum 0.9, weight decay 5e-4 on every parameter, λ
# included), batch 64, learning rate 0.05 reached by a one-epoch linear warm-up, then cosine to 0. Every QCFS
# threshold starts at λ = 2 instead of the reference's 8: with L = 4, λ = 8 quantises in steps of two standard
# deviations of a unit's normalised input and the first epochs learn slowly (METHOD.md §1; trained λ settle at 1–3).
phase "$OUT" --augment "$AUGMENT" --seed 42 --trainann_epochs $EPOCHS --warmup_epochs 1 --lr 0.05 --initial_threshold 2
schedule="$EPOCHS epochs ($augmentation): SGD momentum 0.9, wd 5e-4, batch 64, lr 0.05 (1 warm-up epoch) cosine to 0, initial λ 2, seed 42"

# Fine-tune cycles: the full augmentation leaves the network under-fitted on clean images (training accuracy ~78 %
# augmented); a few epochs on crop + flip at a small learning rate close that gap.
from=$OUT
logs=("$OUT/$CKPT/training_log.csv")
total=$(best_epoch "$OUT")
i=0
for cycle in $FINETUNE; do
  i=$((i + 1))
  IFS=: read -r ft_epochs ft_lr ft_seed ft_smoothing ft_swa <<< "$cycle"
  ft_smoothing=${ft_smoothing:-0}
  ft_swa=${ft_swa:-0}
  swa=()
  [ "$ft_swa" = 0 ] || swa=(--swa_epochs "$ft_swa" --swa_lr "$ft_lr")
  start=$(phase_model "$from")
  phase "$OUT/ft$i" --augment basic --seed "$ft_seed" --trainann_epochs "$ft_epochs" --warmup_epochs 0 --lr "$ft_lr" \
    --label_smoothing "$ft_smoothing" --init_from "$start" "${swa[@]}"
  if [ "$ft_swa" = 0 ]; then
    schedule="$schedule; then from $(basename "$start" .safetensors) $ft_epochs epochs (crop + flip) lr $ft_lr cosine to 0, no warm-up, seed $ft_seed"
  else
    schedule="$schedule; then from $(basename "$start" .safetensors) $ft_epochs epochs (crop + flip), the last $ft_swa at constant lr $ft_lr averaged (SWA, BatchNorm statistics measured again), seed $ft_seed"
  fi
  [ "$ft_smoothing" = 0 ] || schedule="$schedule, label smoothing $ft_smoothing"
  from=$OUT/ft$i
  logs+=("$from/$CKPT/training_log.csv")
  total=$((total + $(phase_epochs "$from")))
done

# All phases as one curve (epochs numbered on; the shipped training_log.csv and training_curve.png).
$RUNNER curve --out "$OUT/all-phases" "${logs[@]}"

# The shipped file: the last phase's model (its best epoch, or its weight average), with notes on how it was trained (the model's own metadata —
# arch, classes, L, data set, normalisation, epoch and test accuracy — comes with it).
model=$(phase_model "$from")
if [ "$(basename "$model")" = swa.safetensors ]; then shipped="the weight average of the last phase"
else shipped="the best epoch ($(best_epoch "$from")) of the last phase"; fi
$RUNNER export --load_model_name "$model" --format safetensors \
  --out "$OUT/resnet20-cifar10-L4.safetensors" \
  --meta "epochs=$total" \
  --meta "schedule=$schedule; shipped: $shipped, $total epochs of training in all (each phase counted to its best epoch, or to its end when averaged)" \
  --meta "data=CIFAR-10 50,000 training images, accuracy on the 10,000 test images of the cifar-10-batches-bin copy in ../shared/data (PROVENANCE.txt: 5,000 exact originals, the rest decoded from JPEG)" \
  --meta "command=tools/results/train_resnet20_cifar10.sh"
