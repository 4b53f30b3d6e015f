#!/bin/bash
# The Runner's whole `snn` command beside the COS authors' own script (github.com/hzc1208/ANN2SNN_COS, main.py, run on
# the CPU through tools/peers/authors_cos.py), on the same checkpoint, images, ρ, T and batch: wall time of each whole
# process (start-up, data loading, conversion, simulation), alternated round by round, and both per-step accuracies.
#   tools/peers/snn_vs_authors.sh AUTHORS_CHECKOUT [DATADIR] [IMAGES] [MODEL] [ROUNDS]
# AUTHORS_CHECKOUT: a clone of github.com/hzc1208/ANN2SNN_COS. DATADIR holds cifar-10-batches-bin/ (default
# ../shared/data); IMAGES the first N test images (default 1000); MODEL a ResNet-20 checkpoint of the engine (default
# the shipped tools/Runner/assets/resnet20-cifar10-L4.safetensors); ROUNDS (default 2). Needs /usr/bin/python3 with
# torch, torchvision, tqdm (Debian: python3-torch python3-torchvision python3-tqdm libopenblas0-pthread).
# RUNNER overrides the Runner binary (default tools/Runner/bin/Release/net10.0/Runner, built if missing).
# Prints one table (best and every wall time, the ratio) and writes it as JSON to $OUT_JSON when that is set.
set -euo pipefail
REPO=${1:?usage: tools/peers/snn_vs_authors.sh AUTHORS_CHECKOUT [DATADIR] [IMAGES] [MODEL] [ROUNDS]}
DATADIR=${2:-../shared/data}
IMAGES=${3:-1000}
MODEL=${4:-tools/Runner/assets/resnet20-cifar10-L4.safetensors}
ROUNDS=${5:-2}
PRESIM=4 T=4 BATCH=50
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)

[ -f "$REPO/main.py" ] || { echo "snn_vs_authors: $REPO/main.py not found (clone github.com/hzc1208/ANN2SNN_COS there)" >&2; exit 2; }
[ -d "$DATADIR/cifar-10-batches-bin" ] || { echo "snn_vs_authors: no $DATADIR/cifar-10-batches-bin" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "snn_vs_authors: no checkpoint $MODEL" >&2; exit 2; }
if [ -z "${RUNNER:-}" ]; then
  RUNNER=tools/Runner/bin/Release/net10.0/Runner
  [ -x "$RUNNER" ] || dotnet build -c Release tools/Runner >/dev/null
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$RUNNER" export --load_model_name "$MODEL" --format pth --out "$WORK/model.pth" >/dev/null
$PY "$HERE/authors_cos.py" prepare --datadir "$DATADIR" --out "$WORK/data" --limit "$IMAGES" >/dev/null

# Wall seconds of one command; its output kept in $WORK/last.log.
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; echo "snn_vs_authors: failed: $*" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf "%.2f" "$(echo "$t1 - $t0" | bc)"
}

engine_times=() authors_times=()
for round in $(seq 1 "$ROUNDS"); do
  e=$(wall "$RUNNER" snn --load_model_name "$MODEL" --dataset CIFAR10 --datadir "$DATADIR" --limit "$IMAGES" \
        --presim_len $PRESIM --sim_len $T --batchsize $BATCH)
  engine_acc=$(grep -o 'accuracy per step: \[.*\]' "$WORK/last.log" | sed 's/.*\[\(.*\)\]/\1/')
  a=$(wall $PY "$HERE/authors_cos.py" run --repo "$REPO" -- --dataset CIFAR10 --datadir "$WORK/data" --net_arch resnet20 \
        --load_model_name "$WORK/model" --presim_len $PRESIM --sim_len $T --batchsize $BATCH --device cpu)
  authors_acc=$(grep -o 'per-step accuracy over .*' "$WORK/last.log" | sed 's/.*: //')
  echo "round $round: engine $e s, authors $a s" >&2
  engine_times+=("$e") authors_times+=("$a")
done

best() { printf '%s\n' "$@" | sort -g | head -1; }
eb=$(best "${engine_times[@]}") ab=$(best "${authors_times[@]}")
ratio=$(echo "scale=2; $ab / $eb" | bc)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "Machine: $cpu, $(nproc) logical cores, $(date -u '+%Y-%m-%d %H:%M') UTC; $IMAGES CIFAR-10 test images, ρ = $PRESIM, T = $T, batch $BATCH, $(basename "$MODEL")"
echo "| whole command | best wall s | every round (s) | per-step accuracy % (t = 1..$T) |"
echo "|---|---|---|---|"
echo "| SpikeEngine \`snn\` | $eb | ${engine_times[*]} | $engine_acc |"
echo "| authors' main.py (CPU) | $ab | ${authors_times[*]} | $(echo "$authors_acc" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.2f", (i > 1 ? ", " : ""), 100 * $i }') |"
echo "| engine speed vs authors | **${ratio}×** | | target ≥ 8× |"
if [ -n "${OUT_JSON:-}" ]; then
  printf '{"machine": "%s", "cores": %d, "images": %d, "presim_len": %d, "sim_len": %d, "batchsize": %d, "model": "%s",\n "engine_seconds": [%s], "authors_seconds": [%s], "engine_speed_vs_authors": %s}\n' \
    "$cpu" "$(nproc)" "$IMAGES" $PRESIM $T $BATCH "$MODEL" \
    "$(IFS=,; echo "${engine_times[*]}")" "$(IFS=,; echo "${authors_times[*]}")" "$ratio" > "$OUT_JSON"
  echo "wrote $OUT_JSON"
fi
