#!/usr/bin/env bash
# Time the peers (simuPOP and the numpy baselines) at N = 1e4, 1e5, 1e6, one fresh
# subprocess per configuration, appending one JSON line per run to $OUT.
# This is a stop-gap driver for the peer numbers quoted in benchmarks/README.md;
# the `python -m benchmarks` harness supersedes it.
#
# Usage: benchmarks/measure_peers.sh [OUT.jsonl]
# Env:   SIZES ("10000 100000 1000000"), REPEATS (3; 1 at N = 1e6), LIMIT_S (300 per run),
#        SIMUPOP_CONFIGS (space-separated "<std|op|ba|baop>:<threads>").
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
OUT="${1:-/tmp/peers.jsonl}"
SIZES="${SIZES:-10000 100000 1000000}"
REPEATS="${REPEATS:-3}"
LIMIT_S="${LIMIT_S:-300}"
SIMUPOP_CONFIGS="${SIMUPOP_CONFIGS:-std:1 op:1 std:2 op:2 baop:1}"
PY="$REPO_ROOT/.venv/bin/python"
BENCH_PY="$REPO_ROOT/.bench-venv/bin/python"

one() {  # one <label> <cmd...>: run with a time limit, append the JSON line or a note
    local label="$1"; shift
    echo "== $label" >&2
    if ! timeout "$LIMIT_S" "$@" >>"$OUT"; then
        echo "{\"skipped\": \"$label\", \"reason\": \"failed or over ${LIMIT_S}s\"}" >>"$OUT"
    fi
}

for n in $SIZES; do
    reps=$REPEATS; [[ $n -ge 1000000 ]] && reps=1
    one "numpy individual n=$n" "$PY" benchmarks/numpy_baseline.py --variant individual --n "$n" --repeats "$reps"
    one "numpy frequency n=$n" "$PY" benchmarks/numpy_baseline.py --variant frequency --n "$n" --repeats "$reps"
    if [[ -x "$BENCH_PY" ]]; then
        for cfg in $SIMUPOP_CONFIGS; do
            v="${cfg%%:*}"; t="${cfg##*:}"
            # simuPOP's OpenMP mating is 6-40x slower than 1 thread on the 2-core box
            # (libgomp futex traffic); at N = 1e6 it runs far past LIMIT_S. ALL=1 forces it.
            if [[ $t -gt 1 && $n -ge 1000000 && -z "${ALL:-}" ]]; then
                echo "{\"skipped\": \"simuPOP $v threads=$t n=$n\", \"reason\": \"threads>1 at N>=1e6 (set ALL=1)\"}" >>"$OUT"
                continue
            fi
            case "$v" in
                std)  flags="--standard --allele-type short" ;;
                op)   flags="--optimized --allele-type short" ;;
                ba)   flags="--standard --allele-type binary" ;;
                baop) flags="--optimized --allele-type binary" ;;
            esac
            # shellcheck disable=SC2086
            one "simuPOP $v threads=$t n=$n" "$BENCH_PY" benchmarks/peer_simupop.py $flags \
                --threads "$t" --n "$n" --repeats "$reps"
        done
    fi
done
echo "results in $OUT" >&2
