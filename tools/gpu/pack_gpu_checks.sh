#!/usr/bin/env bash
# Prepares .gpu/checks.tar.xz for tools/gpu/run_gpu_checks.sh: builds the PTX (embedded in the engine),
# publishes the tests and the benchmarks self-contained for linux-x64, and packs them (carry limit 64 MiB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || { mkdir -p "$(git rev-parse --git-path info)"; echo '/.gpu/' >> "$(git rev-parse --git-path info)/exclude"; }
./build.cuda.sh
rm -rf .gpu && mkdir -p .gpu
dotnet publish tests/SpikeEngine.Tests.csproj -c Release -r linux-x64 --self-contained -o .gpu/tests -p:GenerateDocumentationFile=false
dotnet publish bench/SpikeEngine.Bench.csproj -c Release -r linux-x64 --self-contained -o .gpu/bench
tar -cJf .gpu/checks.tar.xz -C .gpu tests bench
ls -la .gpu/checks.tar.xz
echo "carry .gpu/checks.tar.xz and run: tools/gpu/run_gpu_checks.sh"
