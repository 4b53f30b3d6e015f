#!/usr/bin/env bash
# Prepares .gpu/checks.tar.xz for tools/gpu/run_gpu_checks.sh: builds the PTX (embedded in the engine),
# publishes the tests and the benchmarks self-contained for linux-x64, and packs them (carry limit 64 MiB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# .gpu/ is in .gitignore, so the build never gets committed.
./build.cuda.sh
rm -rf .gpu && mkdir -p .gpu
# Both apps share one folder (and one copy of the runtime) to stay well under the carry limit.
dotnet publish tests/SpikeEngine.Tests.csproj -c Release -r linux-x64 --self-contained -o .gpu/app
dotnet publish bench/SpikeEngine.Bench.csproj -c Release -r linux-x64 --self-contained -o .gpu/app
tar -cJf .gpu/checks.tar.xz -C .gpu app
ls -la .gpu/checks.tar.xz
echo "carry .gpu/checks.tar.xz and run: tools/gpu/run_gpu_checks.sh"
