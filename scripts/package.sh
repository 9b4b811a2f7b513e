#!/usr/bin/env bash
# `make package`: the console's Debian package, made by Tauri's bundler (the CLI is
# @tauri-apps/cli, pinned in ui/package.json and installed by scripts/deps.sh). It holds the
# console (/usr/bin/digimed-console) with its desktop entry and icons, the `digimed` tool
# (/usr/bin/digimed) for IT's admin workstations, and under /usr/share/doc/digimed-console/ the
# operations guide and the service's unit and settings example (deploy/). The runtime dependencies
# are declared in tauri.conf.json (bundle.linux.deb) beside those the bundler adds itself.
# Prints the path of the .deb on its last line.
#   scripts/package.sh           from a release build (slow: a release build of the workspace)
#   scripts/package.sh --debug   from the debug build, which `make test` has already made: the
#                                package test bundles the binaries the other tests ran
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile=release
case "${1:-}" in
    "") ;;
    --debug) profile=debug ;;
    *) echo "usage: scripts/package.sh [--debug]" >&2; exit 2 ;;
esac
scripts/deps.sh >&2
target="${CARGO_TARGET_DIR:-$root/target}"

npm --prefix ui run --silent build >&2
if [ "$profile" = release ]; then
    # The console with Tauri's production protocol, and the tool, in one build.
    cargo build --release --locked --workspace --bins --features digimed-console/custom-protocol >&2
else
    # The build `make test` made (one feature set for the whole workspace): nothing is compiled again.
    cargo build --locked --workspace --all-targets >&2
fi

rm -rf "$target/$profile/bundle/deb"
# The tool's path depends on the build folder, so it is given here rather than in tauri.conf.json.
extra="{\"bundle\":{\"linux\":{\"deb\":{\"files\":{\"/usr/bin/digimed\":\"$target/$profile/digimed\"}}}}}"
args=(bundle --bundles deb --ci --no-sign --no-binary-patching --config "$extra")
[ "$profile" = debug ] && args+=(--debug)
(cd "$root/src-tauri" && CARGO_TARGET_DIR="$target" "$root/ui/node_modules/.bin/tauri" "${args[@]}") >&2
deb="$(ls "$target/$profile/bundle/deb/"*.deb)"
echo "$deb"
