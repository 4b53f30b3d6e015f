#!/usr/bin/env bash
# The GPU checks in one go, on the device machine (H200, nvcc 13, driver 580, Python with torch and the
# nvidia-* wheels, no .NET, no network). Prepare on the CPU machine with tools/gpu/pack_gpu_checks.sh, then
# from the repository root:
#   tools/gpu/run_gpu_checks.sh                 (carry: .gpu/checks.tar.xz)
# Steps (each with its own timeout, all inside a total budget; a failing step never stops the others):
#   machine       nvidia-smi, nvcc, python/torch, cuBLAS/cuDNN folders found through the Python wheels
#   build_cuda    build.cuda.sh with this machine's nvcc (PTX + sm_90 cubins), in the background
#   gpu_tests     the Gpu test category of the published test build (embedded PTX, cubin fallback)
#   nccl          tests/Gpu/NcclTests: NCCL (libnccl.so.2 from the nvidia-nccl wheel) with one rank and two ranks on the GPU
#   memcheck      a small subset under compute-sanitizer --tool memcheck
#   racecheck     the same subset under compute-sanitizer --tool racecheck
#   snn_cuda/cpu  Runner snn on the CIFAR-10 PyTorch fixture (ResNet-20, 200 images, rho=4, T=8), then
#   snn_compare   per-step accuracies, cuda vs cpu, within 0.5 points
#   bench_torch   the PyTorch peer, tools/peers/gpu_torch.py, on the same models and shapes, then
#   bench_snn     bench/Gpu GpuSnnBenchmarks (BenchmarkDotNet, the benchmarks' short in-process job)
#   bench_train   bench/Gpu GpuTrainingBenchmarks + GpuKernelBenchmarks
# Writes at most 3 files into $OUT (default ./gpu-out): summary.txt, gpu_checks_logs.tar.gz (every log, the
# test results, the BenchmarkDotNet reports, the machine-built PTX/cubins), and run_gpu_checks.log (this output).
# The summary is printed last, so the last lines of the output carry it.
# Environment: TOTAL_BUDGET_S (default 450), TEST_FILTER, SANITIZER_FILTER, BENCH_FILTER, SKIP_BENCH=1,
#   SPIKEENGINE_BENCH_CUDNN=1 (adds the cuDNN runs to bench/Gpu), SPIKEENGINE_BENCH_SMOKE=1 (tiny shapes),
#   PYTHON (default /opt/torch/.venv/bin/python, else python3), SNN_IMAGES (200), USE_MACHINE_PTX=1 (tests on the
#   PTX built here instead of the embedded one). SPIKEENGINE_CUDA=emulator is passed through (for a dry run
#   of this script on a CPU machine, see kernels/README.md "Running the GPU checks on the device machine").
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo="$PWD"
out="${OUT:-$repo/gpu-out}"
mkdir -p "$out"
logs="$(mktemp -d "${TMPDIR:-/tmp}/gpu-checks.XXXXXX")"
exec > >(tee "$out/run_gpu_checks.log") 2>&1
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
start=$(date +%s)
budget="${TOTAL_BUDGET_S:-450}"
summary="$logs/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
remaining() { echo $(( budget - ($(date +%s) - start) )); }

# run_step NAME TIMEOUT_S CMD...: runs CMD with its output in $logs/NAME.log, bounded by TIMEOUT_S and by what is
# left of the total budget; records one line "NAME ok|FAIL (rc N)|TIMEOUT|SKIPPED  Ns" in the summary.
run_step() {
  local name="$1" limit="$2"; shift 2
  local left; left=$(( $(remaining) - 15 ))
  if (( left < 10 )); then note "$(printf '%-12s SKIPPED (total budget spent)' "$name")"; return 1; fi
  (( limit > left )) && limit=$left
  echo "== $(date -u +%H:%M:%S) $name (timeout ${limit}s): $*"
  local t0=$(date +%s) rc
  timeout --kill-after=10 "$limit" "$@" > "$logs/$name.log" 2>&1; rc=$?
  local dt=$(( $(date +%s) - t0 )) verdict
  if (( rc == 0 )); then verdict="ok"; elif (( rc == 124 || rc == 137 )); then verdict="TIMEOUT"; else verdict="FAIL (rc $rc)"; fi
  note "$(printf '%-12s %-14s %4ds' "$name" "$verdict" "$dt")"
  (( rc == 0 )) || tail -n 8 "$logs/$name.log" | sed 's/^/    | /'
  return $rc
}

echo "== $(date -u +%H:%M:%S) machine"
{
  date -u; uname -a
  timeout 20 nvidia-smi || echo "nvidia-smi: not available (rc $?)"
} > "$logs/machine.log" 2>&1
gpu="$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n1)"
note "gpu          ${gpu:-none seen by nvidia-smi}${SPIKEENGINE_CUDA:+ (SPIKEENGINE_CUDA=$SPIKEENGINE_CUDA)}"
nvcc="$(command -v nvcc || { [[ -x /usr/local/cuda/bin/nvcc ]] && echo /usr/local/cuda/bin/nvcc; })"
note "nvcc         ${nvcc:+$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') }${nvcc:-none}"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  for c in /opt/torch/.venv/bin/python python3 /usr/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && timeout 60 "$c" -c "import torch" >/dev/null 2>&1; then py="$(command -v "$c")"; break; fi
  done
fi
torch_line="$([[ -n "$py" ]] && timeout 60 "$py" -c "import torch; print(torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>/dev/null)"
note "python       ${py:-none with torch}${torch_line:+ (torch $torch_line)}"

# cuBLAS/cuDNN: the folders of the pip wheels, asked from Python (nvidia is a namespace package; CUDA 13 wheels
# put their libraries under nvidia/cu13/lib, older ones under nvidia/<name>/lib), torch/lib last.
libdirs=""
if [[ -n "$py" ]]; then
  libdirs="$(timeout 60 "$py" - <<'EOF' 2>>"$logs/machine.log"
import glob, importlib, os
dirs = []
def add(pattern):
    for f in sorted(glob.glob(pattern)):
        d = os.path.dirname(f)
        if d not in dirs: dirs.append(d)
try:
    import nvidia
    for base in list(nvidia.__path__):
        for lib in ("libcublas.so*", "libcublasLt.so*", "libcudnn.so*", "libcudart.so*", "libnvrtc.so*", "libnccl.so*"):
            add(os.path.join(base, "*", "lib", lib))
except ImportError:
    pass
try:
    import torch
    add(os.path.join(os.path.dirname(torch.__file__), "lib", "libcu*.so*"))
except ImportError:
    pass
print(os.pathsep.join(dirs))
EOF
)"
fi
export SPIKEENGINE_CUDA_LIB_DIR="${SPIKEENGINE_CUDA_LIB_DIR:-$libdirs}"
[[ -n "$libdirs" ]] && export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cublas="$(for d in ${libdirs//:/ }; do ls "$d"/libcublas.so.* 2>/dev/null; done | head -n1)"
cudnn="$(for d in ${libdirs//:/ }; do ls "$d"/libcudnn.so.* 2>/dev/null; done | head -n1)"
note "cublas       ${cublas:-not found in the Python wheels}"
note "cudnn        ${cudnn:-not found in the Python wheels}"
echo "SPIKEENGINE_CUDA_LIB_DIR=$SPIKEENGINE_CUDA_LIB_DIR" >> "$logs/machine.log"

# The machine's nvcc compiles every kernel while the tests run (CPU work beside GPU work).
build_pid=""
if [[ -n "$nvcc" ]]; then
  ( NVCC="$nvcc" PTX_OUT="$logs/ptx" CUBIN_OUT="$logs/cubin" timeout 240 ./build.cuda.sh > "$logs/build_cuda.log" 2>&1
    echo $? > "$logs/build_cuda.rc" ) &
  build_pid=$!
else
  note "build_cuda   SKIPPED (no nvcc)"
fi

app="$repo/.gpu/app"
if [[ ! -d "$app" ]]; then
  # tar needs the xz program for -J; Python's tarfile (lzma) is the fallback where xz is missing.
  if [[ -f .gpu/checks.tar.xz ]]; then
    tar -xJf .gpu/checks.tar.xz -C .gpu 2>>"$logs/machine.log" \
      || { [[ -n "$py" ]] && "$py" -c "import tarfile; tarfile.open('.gpu/checks.tar.xz').extractall('.gpu')"; } \
      || note "unpack       FAIL (see machine.log)"
  else note "unpack       FAIL: no .gpu/checks.tar.xz (run tools/gpu/pack_gpu_checks.sh and carry it)"; fi
fi
if [[ "${USE_MACHINE_PTX:-0}" == 1 && -n "$build_pid" ]]; then wait "$build_pid"; export SPIKEENGINE_PTX_DIR="$logs/ptx"; fi

tests="$app/SpikeEngine.Tests"
test_counts() { grep -aE "^\s*(total|failed|succeeded|skipped):" "$logs/$1.log" | tr -s ' ' | tr '\n' ' '; }
if [[ -x "$tests" ]]; then
  (cd "$app" && run_step gpu_tests 300 ./SpikeEngine.Tests --filter "${TEST_FILTER:-TestCategory=Gpu}" \
      --results-directory "$logs/test_results")
  note "             $(test_counts gpu_tests)"
  grep -aE "^failed " "$logs/gpu_tests.log" | head -n 15 | sed 's/^/    /' | tee -a "$summary"
  grep -a -m1 "CUDA unavailable" "$logs/gpu_tests.log" | sed 's/^/    SKIPPED because: /' | tee -a "$summary"
  # NCCL (engine/Distributed): one rank, then two ranks (threads) on the one GPU (NCCL refuses that by name since 2.5,
  # or sums); part of gpu_tests too, named here so the summary says whether NCCL itself ran.
  (cd "$app" && run_step nccl 120 ./SpikeEngine.Tests --filter "FullyQualifiedName~NcclTests")
  note "             $(test_counts nccl)$(grep -a -m1 -o "NCCL: [^\"]*" "$logs/nccl.log" | head -c 200)"
  images="$(grep -a "CUDA: kernels/" "$logs/gpu_tests.log" | grep -v "emulator_test_" | sort -u | head -n 3)"
  note "kernels      ${images:-PTX loaded (no cubin fallback reported)}"
  # compute-sanitizer: a subset small enough to run under instrumentation, with the shared-memory reductions
  # (BatchNorm, the QCFS lambda gradient) and the IF neuron kernel.
  subset="${SANITIZER_FILTER:-FullyQualifiedName~CudaNormTests|FullyQualifiedName~CudaQcfsTests|FullyQualifiedName~CudaNeuronTests}"
  sanitizer="$(command -v compute-sanitizer || { [[ -x /usr/local/cuda/bin/compute-sanitizer ]] && echo /usr/local/cuda/bin/compute-sanitizer; })"
  for tool in memcheck racecheck; do
    if [[ -z "$sanitizer" ]]; then note "$(printf '%-12s SKIPPED (no compute-sanitizer)' "$tool")"; continue; fi
    (cd "$app" && run_step "$tool" 75 "$sanitizer" --tool "$tool" --error-exitcode 99 --print-limit 20 \
        ./SpikeEngine.Tests --filter "$subset")
    counts="$(test_counts "$tool") $(grep -a -m1 -E "ERROR SUMMARY|RACECHECK SUMMARY" "$logs/$tool.log")"
    [[ -n "${counts// /}" ]] && note "             $counts"
  done
else
  note "gpu_tests    FAIL: no test build at .gpu/app/SpikeEngine.Tests"
fi

# The SNN fixture on the device: the PyTorch-trained ResNet-20 (CIFAR-10, L=4), COS rho=4, T=8, on the first
# images of the CIFAR-10 test set packed beside the apps; the per-step accuracies must match the CPU's.
runner="$app/Runner"
fixture="$app/fixtures/checkpoints/resnet20_mixed_fp16.pth"
if [[ -x "$runner" && -f "$fixture" ]]; then
  for dev in cuda cpu; do
    run_step "snn_$dev" 150 "$runner" snn --dataset CIFAR10 --datadir "$repo/.gpu/cifar10" --load_model_name "$fixture" \
      --net_arch resnet20 --L 4 --presim_len 4 --sim_len 8 --limit "${SNN_IMAGES:-200}" --batchsize 100 \
      --device "$dev" --json "$logs/snn_$dev.json"
  done
  compare="$("${py:-python3}" - "$logs/snn_cuda.json" "$logs/snn_cpu.json" 2>&1 <<'EOF'
import json, os, sys
missing = [p for p in sys.argv[1:] if not os.path.isfile(p)]
if missing: print("FAIL: no", ", ".join(os.path.basename(p) for p in missing), "(see the snn step above)"); sys.exit(1)
def curves(path):
    d = json.load(open(path))
    found = {}
    def walk(x, key=""):
        if isinstance(x, dict):
            for k, v in x.items(): walk(v, k)
        elif isinstance(x, list) and x and all(isinstance(v, (int, float)) for v in x) and "acc" in key.lower():
            found[key] = x
    walk(d)
    return found
a, b = curves(sys.argv[1]), curves(sys.argv[2])
if not a or a.keys() != b.keys(): print("FAIL: accuracy curves differ in shape", list(a), list(b)); sys.exit(1)
worst = max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))
scale = 100 if max(max(v) for v in a.values()) <= 1 else 1
print(("ok" if worst * scale <= 0.5 else "FAIL"), "max |cuda-cpu| = %.2f points;" % (worst * scale),
      "; ".join("%s cuda %s cpu %s" % (k, [round(v * scale, 1) for v in a[k]], [round(v * scale, 1) for v in b[k]]) for k in a))
sys.exit(0 if worst * scale <= 0.5 else 1)
EOF
)"
  note "snn_compare  $compare"
else
  note "snn          FAIL: no Runner or fixture in .gpu/app"
fi

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  if [[ -n "$py" ]]; then
    run_step bench_torch 150 "$py" tools/peers/gpu_torch.py --out "$logs/torch_peer.json"
    grep -aviE "warn|^\s*$" "$logs/bench_torch.log" | tail -n 12 | tee -a "$summary"
  else note "bench_torch  SKIPPED (no python with torch)"; fi
  bench="$app/SpikeEngine.Bench"
  if [[ -x "$bench" ]]; then
    # Two steps, so one that runs out of time keeps the other's table; the benchmarks' own config is a short
    # in-process job (no SDK here), so no --job option.
    for part in snn train; do
      filter="${BENCH_FILTER:-$([[ $part == snn ]] && echo '*GpuSnn*' || echo '*GpuTraining* *GpuKernel*')}"
      (set -f; cd "$app" && run_step "bench_$part" 120 ./SpikeEngine.Bench --filter $filter --artifacts "$logs/bdn_$part")
      grep -aE "^\|" "$logs/bench_$part.log" | grep -v -- "-----" | cut -c1-150 | tee -a "$summary"
      [[ -n "${BENCH_FILTER:-}" ]] && break
    done
  else note "bench        FAIL: no bench build in .gpu/app"; fi
fi

if [[ -n "$build_pid" ]]; then
  wait "$build_pid"
  rc="$(cat "$logs/build_cuda.rc" 2>/dev/null || echo '?')"
  note "$(printf '%-12s %s' build_cuda "$([[ "$rc" == 0 ]] && echo ok || echo "FAIL (rc $rc)")") $(head -n1 "$logs/build_cuda.log")"
  [[ "$rc" == 0 ]] || grep -a -m5 -E "error|FAIL" "$logs/build_cuda.log" | sed 's/^/    /'
fi

failures="$(grep -cE "^\S+ +(FAIL|TIMEOUT)|^snn_compare +FAIL|^[a-z_]+ +FAIL" "$summary")"
note "total        $(( $(date +%s) - start ))s, $failures failing step(s)"
cp "$summary" "$out/summary.txt"
tar -czf "$out/gpu_checks_logs.tar.gz" -C "$logs" . 2>/dev/null || echo "tar of the logs failed"
rm -rf "$logs"
echo
echo "===== summary ($out: summary.txt, gpu_checks_logs.tar.gz, run_gpu_checks.log) ====="
cat "$out/summary.txt"
(( failures == 0 ))
