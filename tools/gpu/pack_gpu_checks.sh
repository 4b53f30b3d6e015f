#!/usr/bin/env bash
# Prepares .gpu/checks.tar.xz for tools/gpu/run_gpu_checks.sh on the CPU machine: builds the PTX and the sm_90
# cubins (embedded in the engine), publishes the tests, the benchmarks and the Runner self-contained for
# linux-x64 into one folder (one copy of the runtime), cuts the first SNN_IMAGES (200) CIFAR-10 test images for
# the SNN check, and packs it all. The device machine takes at most 64 MiB of carried files: this script fails
# when the archive is larger.
#   CIFAR10_DIR  folder holding cifar-10-batches-bin/test_batch.bin (default ../shared/data)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
limit_mib=60
images="${SNN_IMAGES:-200}"
cifar="${CIFAR10_DIR:-../shared/data}/cifar-10-batches-bin/test_batch.bin"
[[ -f "$cifar" ]] || { echo "pack_gpu_checks.sh: $cifar not found (set CIFAR10_DIR)" >&2; exit 2; }
./build.cuda.sh
# .gpu/ is in .gitignore, so the build never gets committed.
rm -rf .gpu && mkdir -p .gpu/cifar10/cifar-10-batches-bin
for project in tests/SpikeEngine.Tests.csproj bench/SpikeEngine.Bench.csproj tools/Runner/Runner.csproj; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained -o .gpu/app -p:DebugType=none --nologo -v q
done
# 3073 bytes per CIFAR-10 record (label + 3x32x32).
head -c $(( images * 3073 )) "$cifar" > .gpu/cifar10/cifar-10-batches-bin/test_batch.bin
tar -cJf .gpu/checks.tar.xz.tmp -C .gpu app cifar10
mv -f .gpu/checks.tar.xz.tmp .gpu/checks.tar.xz
size=$(stat -c %s .gpu/checks.tar.xz)
echo "archive: .gpu/checks.tar.xz, $(( size / 1024 / 1024 )) MiB ($size bytes); unpacked $(du -sm .gpu/app | cut -f1) MiB"
if (( size > limit_mib * 1024 * 1024 )); then
  echo "pack_gpu_checks.sh: the archive is over ${limit_mib} MiB; the device machine carries at most 64 MiB in all" >&2; exit 1
fi
echo "carry .gpu/checks.tar.xz and run: tools/gpu/run_gpu_checks.sh"
