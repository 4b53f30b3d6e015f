#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX in kernels/ptx/<name>.ptx and to cubins in kernels/cubin/<name>.<sm>.cubin
# (both embedded by engine/SpikeEngine.csproj; the engine loads the PTX and falls back to the cubin of the
# device's compute capability when the driver cannot JIT the PTX, see engine/Cuda/CudaContext.cs).
#   CUDA_ARCH      virtual architecture (default compute_80; newer GPUs JIT it)
#   CUBIN_ARCHS    real architectures for cubins, space-separated (default "sm_90"; "" = PTX only)
#   CUBIN_OUT      cubin output folder (default kernels/cubin)
#   NVCC           compiler (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc)
#   PTX_OUT        output folder (default kernels/ptx)
# nvcc < 12 (Debian's 11.8) rejects gcc >= 12, so clang-14 is used as host compiler there.
# Exits non-zero when nvcc is missing or any kernel fails to compile.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
arch="${CUDA_ARCH:-compute_80}"
out="${PTX_OUT:-$root/kernels/ptx}"
cubin_archs="${CUBIN_ARCHS-sm_90}"
cubin_out="${CUBIN_OUT:-$root/kernels/cubin}"
nvcc="${NVCC:-}"
if [[ -z "$nvcc" ]]; then
  if command -v nvcc >/dev/null 2>&1; then nvcc="$(command -v nvcc)"
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then nvcc=/usr/local/cuda/bin/nvcc
  else echo "build.cuda.sh: nvcc not found (install nvidia-cuda-toolkit or set NVCC)" >&2; exit 2; fi
fi
version="$("$nvcc" --version | sed -n 's/.*release \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1.\2/p' | head -n1)"
major="${version%%.*}"
if [[ -z "$major" ]]; then echo "build.cuda.sh: cannot read the version of $nvcc" >&2; exit 2; fi
host=()
if (( major < 12 )); then
  gcc_major="$(gcc -dumpversion 2>/dev/null | cut -d. -f1 || echo 0)"
  if (( ${gcc_major:-0} >= 12 )) || ! command -v gcc >/dev/null 2>&1; then
    if command -v clang-14 >/dev/null 2>&1; then host=(-ccbin clang-14)
    else echo "build.cuda.sh: nvcc $version needs a host compiler older than gcc 12; install clang-14" >&2; exit 2; fi
  fi
fi
mkdir -p "$out"
[[ -n "$cubin_archs" ]] && mkdir -p "$cubin_out"
shopt -s nullglob
sources=("$root"/kernels/*.cu)
if (( ${#sources[@]} == 0 )); then echo "build.cuda.sh: no kernels/*.cu found" >&2; exit 2; fi
echo "nvcc $version ($nvcc), arch $arch${host:+, host ${host[1]}} -> $out${cubin_archs:+; cubins $cubin_archs -> $cubin_out}"
failed=0
pids=(); targets=()
# -fmad=false: no fused multiply-add contraction, so kernels round like the CPU reference.
flags=(-O3 -fmad=false -std=c++17 -I "$root/kernels")
for src in "${sources[@]}"; do
  name="$(basename "$src" .cu)"
  "$nvcc" "${host[@]}" -ptx -arch="$arch" "${flags[@]}" "$src" -o "$out/$name.ptx.tmp" &
  pids+=($!); targets+=("$out/$name.ptx")
  for sm in $cubin_archs; do
    "$nvcc" "${host[@]}" -cubin -arch="$sm" "${flags[@]}" "$src" -o "$cubin_out/$name.$sm.cubin.tmp" &
    pids+=($!); targets+=("$cubin_out/$name.$sm.cubin")
  done
done
for i in "${!pids[@]}"; do
  target="${targets[$i]}"
  if wait "${pids[$i]}"; then mv -f "$target.tmp" "$target"; echo "  ok   $(basename "$target")"
  else rm -f "$target.tmp"; echo "  FAIL $(basename "$target")" >&2; failed=1; fi
done
if (( failed )); then echo "build.cuda.sh: some kernels failed to compile" >&2; exit 1; fi
