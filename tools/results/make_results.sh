#!/usr/bin/env bash
# The README's results table for one checkpoint: ANN, plain conversion and COS (ρ = 4, 8; k = 1, 2), each SNN
# configuration run once at T = 16 (the per-step results give T = 1..16), then `report` turns the --json files
# into OUT/results.md, results.csv, results.json and accuracy_vs_t.png. See tools/results/README.md.
#
#   tools/results/make_results.sh CHECKPOINT DATADIR OUT [Runner options, e.g. --limit 500 --dataset CIFAR10 --L 4]
#
# A configuration whose OUT/<name>.json exists is not run again (an interrupted run continues where it stopped);
# delete OUT, or the file, to redo it. RUNNER overrides how the Runner is started (default: dotnet run, Release).
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
checkpoint=$1 datadir=$2 out=$3
shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
read -r -a runner <<< "${RUNNER:-dotnet run -c Release --project $root/tools/Runner --}"
steps=${SIM_LEN:-16}
mkdir -p "$out"

run() {  # NAME COMMAND [options]: the Runner's --json goes to OUT/NAME.json, its console output to OUT/NAME.log
  local name=$1
  shift
  if [ -s "$out/$name.json" ]; then echo "$name: $out/$name.json exists, kept"; return; fi
  echo "$name: ${runner[*]} $* --json $out/$name.json"
  "${runner[@]}" "$@" --load_model_name "$checkpoint" --datadir "$datadir" "${extra[@]}" --json "$out/$name.json" > "$out/$name.log" 2>&1 \
    || { tail -5 "$out/$name.log" >&2; exit 1; }
  grep -E '^(ANN accuracy|accuracy per step|per image)' "$out/$name.log" || true
}
extra=("$@")

run ann eval
run plain snn --presim_len 0 --sim_len "$steps"
for rho in 4 8; do
  for k in 1 2; do
    run "cos-rho$rho-k$k" snn --presim_len "$rho" --iterations "$k" --sim_len "$steps"
  done
done
"${runner[@]}" report --out "$out" "$out/ann.json" "$out/plain.json" \
  "$out/cos-rho4-k1.json" "$out/cos-rho4-k2.json" "$out/cos-rho8-k1.json" "$out/cos-rho8-k2.json"
