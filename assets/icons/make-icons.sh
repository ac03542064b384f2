#!/usr/bin/env bash
# Regenerates the TillDesk icon files from tilldesk.svg (needs ImageMagick 6 or 7).
#   assets/icons/tilldesk-{16..512}.png  window icon, Linux hicolor theme, cargo-packager input (.app/.dmg, AppImage)
#   assets/icons/tilldesk.ico             Windows installers and the .exe (16, 32, 48, 64, 128, 256)
set -euo pipefail
cd "$(dirname "$0")"
im=convert
command -v magick >/dev/null && im="magick"
for size in 16 32 48 64 128 256 512; do
    # Render at 4x density and scale down so small sizes stay crisp.
    "$im" -background none -density 384 tilldesk.svg -resize "${size}x${size}" -strip "PNG32:tilldesk-${size}.png"
done
"$im" tilldesk-16.png tilldesk-32.png tilldesk-48.png tilldesk-64.png tilldesk-128.png tilldesk-256.png tilldesk.ico
ls -l tilldesk-*.png tilldesk.ico
