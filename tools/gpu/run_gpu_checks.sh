#!/usr/bin/env bash
# Runs the GPU checks on the device machine (no .NET there: the tests and benchmarks travel as
# self-contained builds). Prepare on the CPU machine with tools/gpu/pack_gpu_checks.sh, then run
#   tools/gpu/run_gpu_checks.sh            (carry: .gpu/checks.tar.xz)
# from the repository root. Logs go to $OUT (or ./gpu-out). Steps, each logged, none stopping the rest:
#   1. machine facts (nvidia-smi, nvcc, libraries found)
#   2. build.cuda.sh with the machine's nvcc (must compile every kernel), PTX into $OUT/ptx
#   3. the GPU tests (TestCategory=Gpu) of the published test build, on the embedded PTX (nvcc 11.8)
#   4. benchmarks: ours (bench/Gpu, in-process) and PyTorch's (tools/peers/gpu_torch.py) on the same shapes
# Environment: SKIP_BENCH=1 skips step 4; BENCH_FILTER picks benchmarks (default '*Gpu*');
#              TEST_FILTER overrides the test filter; USE_MACHINE_PTX=1 runs the tests on the PTX built in step 2.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${OUT:-$PWD/gpu-out}"
mkdir -p "$out"
log="$out/run_gpu_checks.log"
exec > >(tee -a "$log") 2>&1
status=0
step() { echo; echo "== $(date -u +%H:%M:%S) $*"; }

step "machine"
nvidia-smi || echo "nvidia-smi failed"
command -v nvcc && nvcc --version | tail -2
python_bin=""
for py in python3 /usr/bin/python3 /usr/local/bin/python3 /opt/conda/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c "import torch" >/dev/null 2>&1; then python_bin="$(command -v "$py")"; break; fi
done
echo "python with torch: ${python_bin:-none}"

# cuBLAS/cuDNN: pip wheels (PyTorch's) or a toolkit; tell the engine's resolver where they are.
libdirs=""
for lib in libcublas.so libcudnn.so; do
  f="$(timeout 90 find / \( -path /proc -o -path /sys -o -path '*/stubs' \) -prune -o \( -name "$lib.*" -o -name "$lib" \) -print 2>/dev/null | head -n1)"
  if [[ -n "$f" ]]; then echo "found $f"; libdirs="${libdirs:+$libdirs:}$(dirname "$f")"; fi
done
export SPIKEENGINE_CUDA_LIB_DIR="${SPIKEENGINE_CUDA_LIB_DIR:-$libdirs}"
echo "SPIKEENGINE_CUDA_LIB_DIR=$SPIKEENGINE_CUDA_LIB_DIR"

step "build.cuda.sh with this machine's nvcc"
if PTX_OUT="$out/ptx" ./build.cuda.sh > "$out/build_cuda.log" 2>&1; then cat "$out/build_cuda.log"
else cat "$out/build_cuda.log"; echo "build.cuda.sh FAILED"; status=1; fi
if [[ "${USE_MACHINE_PTX:-0}" == 1 ]]; then export SPIKEENGINE_PTX_DIR="$out/ptx"; echo "tests use $out/ptx"; fi

step "unpack"
if [[ -f .gpu/checks.tar.xz ]]; then tar -xJf .gpu/checks.tar.xz -C .gpu || status=1
else echo "no .gpu/checks.tar.xz (run tools/gpu/pack_gpu_checks.sh on the CPU machine and carry it)"; exit 1; fi

step "GPU tests"
if [[ -x .gpu/app/SpikeEngine.Tests ]]; then
  (cd .gpu/app && ./SpikeEngine.Tests --filter "${TEST_FILTER:-TestCategory=Gpu}" --output detailed \
      --results-directory "$out") > "$out/gpu_tests.log" 2>&1
  rc=$?
  grep -E "^failed " -A4 "$out/gpu_tests.log" | head -200
  grep -E "^\s*(total|failed|succeeded|skipped):" "$out/gpu_tests.log"
  if grep -m1 "CUDA unavailable" "$out/gpu_tests.log"; then echo "GPU tests were SKIPPED: the line above says why"; status=1; fi
  echo "tests exit code $rc (full log: gpu_tests.log)"; (( rc == 0 )) || status=1
else echo "no test build in .gpu/app"; status=1; fi

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  step "benchmarks: SpikeEngine (CUDA)"
  if [[ -x .gpu/app/SpikeEngine.Bench ]]; then
    (cd .gpu/app && ./SpikeEngine.Bench --filter "${BENCH_FILTER:-*Gpu*}" --artifacts "$out/bdn") > "$out/bench_ours.log" 2>&1 || status=1
    grep -E "^\|" "$out/bench_ours.log" | tail -60
  else echo "no bench build in .gpu/app"; fi
  step "benchmarks: PyTorch peer"
  if [[ -z "$python_bin" ]]; then echo "no python with torch found"; else
    "$python_bin" tools/peers/gpu_torch.py --out "$out/torch_peer.json" 2>&1 | tee "$out/bench_torch.log" || status=1
  fi
fi
step "done (status $status)"
exit $status
