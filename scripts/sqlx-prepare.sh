#!/usr/bin/env bash
# The query data in .sqlx/ lets the `sqlx::query!` macros check every statement at compile time
# without a database. This script migrates a scratch database on the server DATABASE_URL names
# (or the project's private cluster) and refreshes .sqlx/ from it:
#   scripts/sqlx-prepare.sh           write .sqlx/ anew (commit it with the queries that changed)
#   scripts/sqlx-prepare.sh --check   fail when .sqlx/ does not match the queries
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="${DIGIMED_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/digimed-tools}"
export PATH="$tools/bin:$PATH"
command -v sqlx >/dev/null || { echo "error: sqlx-cli is missing; run scripts/deps.sh" >&2; exit 1; }
server="${DATABASE_URL:-$(scripts/pg.sh start)}"
# The same server, database `digimed_sqlx_prepare`.
base="${server%%\?*}"
query=""
[ "$base" != "$server" ] && query="?${server#*\?}"
scratch="${base%/*}/digimed_sqlx_prepare${query}"
admin="${base%/*}/postgres${query}"
psql "$admin" -qc "DROP DATABASE IF EXISTS digimed_sqlx_prepare WITH (FORCE)" -qc "CREATE DATABASE digimed_sqlx_prepare" >/dev/null
trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS digimed_sqlx_prepare WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
sqlx migrate run --database-url "$scratch" --source migrations >/dev/null
# `cargo sqlx prepare` forces the crates that use the query macros to compile again, with settings
# no other build uses; in a build folder of its own, so the next build or test run does not
# compile them all again in turn.
# It forces them by touching their sources (lib.rs, build.rs, …); their times are put back
# afterwards, so that the other build folders do not see a change that is none.
target="${CARGO_TARGET_DIR:-$root/target}"
times="$(mktemp)"
git ls-files -z -- '*.rs' | xargs -0 stat -c '%y|%n' > "$times"
restore_times() {
    while IFS='|' read -r when path; do
        if [ -e "$path" ]; then touch -m -d "$when" "$path"; fi
    done < "$times"
    rm -f "$times"
}
trap 'restore_times; psql "$admin" -qc "DROP DATABASE IF EXISTS digimed_sqlx_prepare WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
DATABASE_URL="$scratch" SQLX_OFFLINE=false CARGO_TARGET_DIR="$target/query-data" \
    cargo sqlx prepare --workspace "$@" -- --all-targets --locked
