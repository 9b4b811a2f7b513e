#!/usr/bin/env bash
# `make run`: the console on the clinic database named by DATABASE_URL, or, when none is set,
# on the project's private PostgreSQL with demo data (created on first run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/deps.sh

demo=0
if [ -z "${DATABASE_URL:-}" ]; then
    demo=1
    DATABASE_URL="$(scripts/pg.sh start)"
    export DATABASE_URL
    export DIGIMED_KEY_FILE="${DIGIMED_KEY_FILE:-$root/.run/demo-keys.json}"
    # The demo console is a doctor's or admin's workstation too: it holds the clinical keys
    # (docs/operations.md, "Key domains"), and the demo's results are written under them.
    export DIGIMED_CLINICAL_KEY_FILE="${DIGIMED_CLINICAL_KEY_FILE:-$root/.run/demo-clinical-keys.json}"
fi

npm --prefix ui run --silent build
cargo build --quiet -p digimed-cli -p digimed-console
bin="${CARGO_TARGET_DIR:-$root/target}/debug"

if [ "$demo" = 1 ]; then
    "$bin/digimed" db migrate
    [ -f "$DIGIMED_KEY_FILE" ] || "$bin/digimed" keys init
    [ -f "$DIGIMED_CLINICAL_KEY_FILE" ] || "$bin/digimed" keys init --domain clinical
    # The ICPC-2 list, from the npm package pinned in data/package-lock.json (see data/README.md).
    "$bin/digimed" icpc2 import "$root/data/node_modules/@navikt/diagnosekoder/lib/ICPC2.json"
    creds="$root/.run/demo-credentials.txt"
    if [ ! -s "$creds" ]; then
        umask 077
        "$bin/digimed" db seed-demo --if-empty > "$creds"
    fi
    cat "$creds"
    export DIGIMED_DEMO=1
fi

# The console signs staff in with their own login: give it the server without any user.
DIGIMED_SERVER="$(printf '%s' "$DATABASE_URL" | sed -E 's#^(postgres(ql)?://)[^@/]*@#\1#')"
export DIGIMED_SERVER
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "error: no display to open the console on (run it from a desktop session, or under xvfb-run)" >&2
    exit 1
fi
exec "$bin/digimed-console"
