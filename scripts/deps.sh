#!/usr/bin/env bash
# Installs what the project needs and is missing, on Debian 12: Tauri's build packages, the
# PostgreSQL server, the test tools (Xvfb, WebKitWebDriver, ImageMagick, D-Bus and a keyring
# daemon) and the UI's npm packages. Safe to run again; it only installs what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
    build-essential pkg-config file curl libssl-dev
    libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
    postgresql
    xvfb webkit2gtk-driver imagemagick dbus dbus-x11 gnome-keyring keyutils
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

# npm packages from the committed lock, reinstalled when it changed. (`npm install --no-save`
# rather than `npm ci`, which refuses a lock without other platforms' optional packages.)
stamp="$root/ui/node_modules/.digimed-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$root/ui/package-lock.json" "$stamp"; then
    (cd "$root/ui" && npm install --no-save --no-audit --no-fund --loglevel=error)
    cp "$root/ui/package-lock.json" "$stamp"
fi
