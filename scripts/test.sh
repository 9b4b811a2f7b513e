#!/usr/bin/env bash
# `make test`: every check and every test —
#   the project's habits: rustfmt, clippy (warnings denied), the UI's strict TypeScript and ESLint;
#   the UI's component tests;
#   the Rust unit and integration tests against a real PostgreSQL (one fresh database per test),
#   including the committed schema.sql, ui/src/bindings.ts and docs/openapi.json being current, the
#   OpenAPI document being valid and no route answering 5xx to requests generated from it;
#   the UI's browser tests (Chromium; the console's own commands on the real core and a database
#   per test file, through the test bridge src-tauri/examples/console_bridge.rs);
#   the end-to-end tests of the built console (WebKit under Xvfb through tauri-driver, a database of
#   their own with the demo data, `digimed serve`);
#   the Debian package (scripts/package.sh --debug: the debug build above, bundled by Tauri's
#   bundler), unpacked into a clean root: its declared dependencies, its desktop entry
#   (desktop-file-validate) and the installed console's sign-in screen under Xvfb;
#   the OS-keyring test on a private D-Bus session;
#   the committed SQL query data (.sqlx/) matching the queries, checked against a migrated database.
# Uses DATABASE_URL when set (its non-owner logins must use password auth); otherwise the
# project's private cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/deps.sh
tools="${DIGIMED_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/digimed-tools}"
# Where tests/it/openapi.rs finds openapi-spec-validator and schemathesis.
export DIGIMED_OPENAPI_TOOLS="$tools/openapi-venv/bin"

if [ -z "${DATABASE_URL:-}" ]; then
    DATABASE_URL="$(scripts/pg.sh start)"
    export DATABASE_URL
fi

echo "== Habits: rustfmt, clippy, the UI's types and lint"
cargo fmt --all --check
npm --prefix ui run --silent build
npm --prefix ui run --silent lint
# Clippy keeps its lint-only artifacts in a build folder of its own, beside the build's. It still
# compiles the build scripts of digimed-core and digimed-console once for itself (they are linted
# too); everything else it only checks.
cargo clippy --workspace --all-targets --locked --target-dir "${CARGO_TARGET_DIR:-$root/target}/clippy" -- -D warnings

echo "== UI: component tests"
npm --prefix ui test --silent

# One build of every crate, tests included, with one feature set: the stages below reuse it and
# compile nothing again (the console, `digimed` and the browser tests' bridge come out of it).
echo "== Rust: build everything once"
cargo build --workspace --all-targets --locked

echo "== Rust: unit and integration tests (real PostgreSQL)"
cargo test --workspace --locked

echo "== UI: browser tests (Chromium; the console's own commands on the real core, through the test bridge)"
npm --prefix ui run --silent test:browser

echo "== End to end: the built console under Xvfb through tauri-driver, on PostgreSQL with demo data"
npm --prefix tests/e2e test --silent

# From the debug build above: the release build `make package` makes took 66 minutes on a busy
# 2-core machine, far too long for every run.
echo "== Package: the Debian package unpacked into a clean root, its desktop entry, the installed console started"
deb="$(scripts/package.sh --debug | tail -n 1)"
DIGIMED_DEB="$deb" npm --prefix tests/e2e run --silent test:package

echo "== OS keyring (Secret Service on a private D-Bus session)"
keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
# The keyring daemon keeps its files under HOME; the toolchain stays where it is.
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
HOME="$keyring_home" XDG_RUNTIME_DIR="$keyring_home" XDG_DATA_HOME="$keyring_home/data" \
    RUSTUP_HOME="$rustup_home" CARGO_HOME="$cargo_home" \
    dbus-run-session -- bash -c '
        # A throw-away login keyring, unlocked with a throw-away password.
        printf "throw-away" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
        # Wait until the daemon owns the Secret Service name on the bus (at most 10 s).
        for _ in $(seq 100); do
            dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
            sleep 0.1
        done
        cargo test --workspace --locked --lib -- --ignored --exact store::tests::keyring_round_trip 2>&1 | tee "$HOME/keyring.log"
        # A renamed test would otherwise pass by running nothing.
        grep -q "^test store::tests::keyring_round_trip ... ok" "$HOME/keyring.log" || { echo "the keyring test did not run and pass" >&2; exit 1; }
    '

# Last; it checks the crates in a build folder of its own, so the stages above stay compiled for
# the next run.
echo "== SQL: the committed query data (.sqlx/) matches the queries"
scripts/sqlx-prepare.sh --check
