#!/usr/bin/env bash
# Build the peer-tool benchmark environment (.bench-venv) with numpy, psutil and simuPOP.
#
# simuPOP has no wheel for Python 3.11 on PyPI, so pip compiles it from the sdist
# (scikit-build-core + CMake). Its CMakeLists.txt hard-codes ten module variants
# (std op la laop ba baop mu muop lin linop); building all of them takes 10+ minutes on
# two cores. We unpack the sdist into a temporary directory, rewrite the one line
# that lists the variants, and pip-install that patched copy. simuPOP's code is never
# copied into this repository.
#
# Usage:  benchmarks/install_peers.sh
# Environment overrides:
#   BENCH_VENV         target venv                       (default: <repo>/.bench-venv)
#   PYTHON             interpreter used to create it     (default: python3.11)
#   SIMUPOP_VERSION    sdist version                     (default: 1.1.18)
#   SIMUPOP_VARIANTS   module variants to compile        (default: "std op ba baop")
#                      std/op = short alleles (standard/optimized),
#                      ba/baop = binary alleles (standard/optimized)
#   CMAKE_BUILD_PARALLEL_LEVEL  parallel compile jobs    (default: nproc)
#
# Never run this in CI; simuPOP is only for benchmarks/peer_simupop.py.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_VENV="${BENCH_VENV:-$REPO_ROOT/.bench-venv}"
PYTHON="${PYTHON:-python3.11}"
SIMUPOP_VERSION="${SIMUPOP_VERSION:-1.1.18}"
SIMUPOP_VARIANTS="${SIMUPOP_VARIANTS:-std op ba baop}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

echo "[install_peers] venv=$BENCH_VENV python=$PYTHON simuPOP=$SIMUPOP_VERSION variants='$SIMUPOP_VARIANTS' jobs=$CMAKE_BUILD_PARALLEL_LEVEL"

# 1. The venv and the light dependencies.
if [[ ! -x "$BENCH_VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$BENCH_VENV"
fi
"$BENCH_VENV/bin/python" -m pip install --upgrade pip
"$BENCH_VENV/bin/python" -m pip install numpy psutil

# 2. Fetch the simuPOP sdist only (its build dependencies may still come as wheels).
WORK="$(mktemp -d /tmp/simupop-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
"$BENCH_VENV/bin/python" -m pip download --no-deps --no-binary simupop \
    --dest "$WORK" "simuPOP==$SIMUPOP_VERSION"
tar -xzf "$WORK"/simupop-"$SIMUPOP_VERSION".tar.gz -C "$WORK"
SRC="$WORK/simupop-$SIMUPOP_VERSION"

# 3. Restrict the compiled module variants (one line of CMakeLists.txt).
ORIG='set(MODULE_VARIANT_NAMES std op la laop ba baop mu muop lin linop)'
grep -qF "$ORIG" "$SRC/CMakeLists.txt" || {
    echo "[install_peers] CMakeLists.txt variant line not found; simuPOP layout changed" >&2
    exit 1
}
sed -i "s/^set(MODULE_VARIANT_NAMES std op la laop ba baop mu muop lin linop)\$/set(MODULE_VARIANT_NAMES $SIMUPOP_VARIANTS)/" \
    "$SRC/CMakeLists.txt"
grep -n '^set(MODULE_VARIANT_NAMES' "$SRC/CMakeLists.txt"

# 4. Compile and install (verbose so the log shows progress).
start=$(date +%s)
"$BENCH_VENV/bin/python" -m pip install -v "$SRC"
echo "[install_peers] simuPOP build+install took $(( $(date +%s) - start )) s"

# 5. Smoke test: import each built variant.
for v in $SIMUPOP_VARIANTS; do
    case "$v" in
        std)  opts="optimized=False, alleleType='short'" ;;
        op)   opts="optimized=True, alleleType='short'" ;;
        ba)   opts="optimized=False, alleleType='binary'" ;;
        baop) opts="optimized=True, alleleType='binary'" ;;
        la)   opts="optimized=False, alleleType='long'" ;;
        laop) opts="optimized=True, alleleType='long'" ;;
        *)    continue ;;
    esac
    "$BENCH_VENV/bin/python" -c "import simuOpt; simuOpt.setOptions($opts, quiet=True); import simuPOP as sim; print('[install_peers] $v OK', sim.moduleInfo()['alleleType'], sim.moduleInfo()['optimized'])"
done
