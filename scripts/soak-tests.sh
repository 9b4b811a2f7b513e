#!/usr/bin/env bash
# Runs `make test` N times (default 5), each on a fresh clone of this checkout's HEAD, and reports
# each run's result and time: a suite that is red one run in five is a failing suite.
#   scripts/soak-tests.sh [N]
# Cargo's build cache is shared between the runs (CARGO_TARGET_DIR, default a folder under
# /var/tmp), as CI keeps it; nothing else carries over from one run to the next. Each run's full
# output is kept in the report folder it prints.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-5}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/soak-tests.sh [N]" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/digimed-soak-target}"
head="$(git -C "$root" rev-parse HEAD)"
[ -z "$(git -C "$root" status --porcelain)" ] || echo "note: uncommitted changes are not tested; the clones hold $head"
report="$(mktemp -d "${TMPDIR:-/tmp}/digimed-soak.XXXXXX")"
echo "make test x $runs on fresh clones of $head; logs in $report"

failed=0
for i in $(seq "$runs"); do
    clone="$report/clone-$i"
    git clone --quiet "$root" "$clone"
    git -C "$clone" checkout --quiet "$head"
    start=$(date +%s)
    if (cd "$clone" && make test) >"$report/run-$i.log" 2>&1; then result=green; else result=RED; failed=$((failed + 1)); fi
    secs=$(( $(date +%s) - start ))
    printf 'run %d: %-5s %dm%02ds\n' "$i" "$result" $((secs / 60)) $((secs % 60)) | tee -a "$report/summary.txt"
    # Throw the run's private database cluster and the clone away; keep the log.
    (cd "$clone" && scripts/pg.sh destroy >/dev/null 2>&1) || true
    rm -rf "$clone"
done
echo "$((runs - failed)) of $runs green" | tee -a "$report/summary.txt"
[ "$failed" = 0 ]
