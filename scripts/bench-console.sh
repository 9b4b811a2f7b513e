#!/usr/bin/env bash
# The console's cold start (process spawn to an interactive referral queue) and the memory (PSS)
# of all its processes, with 10,000 open consultations, next to the targets (< 1 s, < 320 MB).
# Seeds a scratch database beside DATABASE_URL's (the project's own cluster when unset) and drops
# it afterwards. BENCH_OPEN and BENCH_RUNS change the number of open consultations and of runs;
# DIGIMED_CONSOLE_BIN measures another build of the console (e.g. a release build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/deps.sh

if [ -z "${DATABASE_URL:-}" ]; then
    DATABASE_URL="$(scripts/pg.sh start)"
    export DATABASE_URL
fi

npm --prefix ui run --silent build
cargo build --quiet --locked -p digimed-cli -p digimed-console
exec node tests/e2e/bench.mjs
