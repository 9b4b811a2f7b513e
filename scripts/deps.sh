#!/usr/bin/env bash
# Installs what the project needs and is missing, on Debian 12: Tauri's build packages, the
# PostgreSQL server, the test tools (Xvfb, WebKitWebDriver, ImageMagick, D-Bus and a keyring
# daemon, desktop-file-validate for the package's desktop entry, Chromium for the UI's browser
# tests, tauri-driver for the end-to-end tests, aiosmtpd for the e-mail tests, PyJWT to check
# meeting tokens independently, the OpenAPI checks' Python tools) and the npm packages of the
# reference data (the ICPC-2 list), of the UI and of the end-to-end tests. Safe to run again; it
# only installs what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
    build-essential pkg-config file curl libssl-dev
    libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
    postgresql
    xvfb webkit2gtk-driver imagemagick dbus dbus-x11 gnome-keyring keyutils
    desktop-file-utils
    chromium
    python3-aiosmtpd
    python3-jwt
    python3-venv
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "error: Node.js is needed (Debian: apt-get install nodejs npm)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: the Rust toolchain is needed (https://rustup.rs)" >&2; exit 1; }

# npm packages from the committed locks (the UI's include Tauri's CLI, whose bundler makes the
# Debian package: scripts/package.sh), reinstalled when one changed. (`npm install --no-save`
# rather than `npm ci`, which refuses a lock without other platforms' optional packages.)
for dir in data ui tests/e2e; do
    stamp="$root/$dir/node_modules/.digimed-lock"
    if [ ! -f "$stamp" ] || ! cmp -s "$root/$dir/package-lock.json" "$stamp"; then
        (cd "$root/$dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
        cp "$root/$dir/package-lock.json" "$stamp"
    fi
done

# Tools built once into a cache folder outside the checkout:
# - tauri-driver, the WebDriver front of the console for the end-to-end tests (the 2.x line:
#   crates.io's newest is an alpha of the next);
# - sqlx-cli, which checks that the committed query data (.sqlx/) matches the SQL; its version
#   is the one of sqlx in Cargo.lock.
tools="${DIGIMED_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/digimed-tools}"
if [ ! -x "$tools/bin/tauri-driver" ]; then
    echo "installing tauri-driver into $tools"
    env -u CARGO_TARGET_DIR cargo install --quiet --locked tauri-driver --version '^2' --root "$tools"
fi
sqlx_version="$(awk '/^name = "sqlx"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
if ! "$tools/bin/sqlx" --version 2>/dev/null | grep -qx "sqlx-cli $sqlx_version"; then
    echo "installing sqlx-cli $sqlx_version into $tools"
    env -u CARGO_TARGET_DIR CARGO_TARGET_DIR="$tools/build" cargo install --quiet --locked sqlx-cli --version "=$sqlx_version" \
        --no-default-features --features postgres,rustls --root "$tools"
    rm -rf "$tools/build"
fi

# The OpenAPI checks' Python tools (openapi-spec-validator, schemathesis), pinned in
# tests/openapi/requirements.txt, in a virtual environment of Debian's Python; made anew when the
# list changes.
venv="$tools/openapi-venv"
if ! cmp -s "$root/tests/openapi/requirements.txt" "$venv/.digimed-requirements" 2>/dev/null; then
    echo "installing the OpenAPI checks' Python tools into $venv"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$root/tests/openapi/requirements.txt"
    cp "$root/tests/openapi/requirements.txt" "$venv/.digimed-requirements"
fi
