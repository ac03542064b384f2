#!/usr/bin/env bash
# Builds TillDesk's Linux installers on this machine: the .deb always, the AppImage where it can be made.
#   installers/build-linux.sh            .deb, then try the AppImage
#   APPIMAGE=no installers/build-linux.sh   .deb only
# Output: $CARGO_TARGET_DIR/release (default target/release): tilldesk_<version>_<arch>.deb, tilldesk_<version>_<arch>.AppImage
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGER_VERSION=0.11.8
if ! cargo packager --version 2>/dev/null | grep -q "$PACKAGER_VERSION"; then
    echo "== installing cargo-packager $PACKAGER_VERSION"
    cargo install --locked cargo-packager --version "$PACKAGER_VERSION"
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
out="${CARGO_TARGET_DIR:-target}/release"
echo "== TillDesk $version -> $out"

# `--release` makes the packager run the before-packaging-command (cargo build --release --locked) first.
start=$(date +%s)
cargo packager --release --formats deb
echo "== .deb built in $(($(date +%s) - start)) s (including the release build)"
ls -l "$out"/tilldesk_"$version"_*.deb

if [[ "${APPIMAGE:-try}" != "no" ]]; then
    # The AppImage needs linuxdeploy and AppRun, which cargo-packager downloads from GitHub at package time.
    if cargo packager --release --formats appimage; then
        ls -l "$out"/*.AppImage
    else
        echo "== AppImage not built: cargo-packager could not fetch its tools (linuxdeploy, AppRun) from GitHub;" \
             "build it where GitHub is reachable, or run with APPIMAGE=no" >&2
        if [[ "${APPIMAGE:-try}" == "yes" ]]; then exit 1; fi
    fi
fi
