#!/usr/bin/env bash
# Checks the built .deb the way a user gets it: unpacks it into a scratch root (dpkg -x, no root needed),
# runs `tilldesk --version` and `tilldesk doctor` from the installed path, and checks the control fields, the
# desktop entry and the icons.
#   installers/test-deb.sh [PATH.deb]     default: the newest tilldesk_<version>_*.deb in $CARGO_TARGET_DIR/release
#   DPKG_INSTALL=1 installers/test-deb.sh also `dpkg -i` it for real, check /usr/bin/tilldesk, then `dpkg -r` (root, CI)
#   GUI=1 installers/test-deb.sh          also open the installed app under Xvfb and check its window stays up
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
out="${CARGO_TARGET_DIR:-target}/release"
deb="${1:-$(ls -t "$out"/tilldesk_"$version"_*.deb 2>/dev/null | head -n 1)}"
[[ -n "$deb" && -f "$deb" ]] || { echo "FAIL: no tilldesk_${version}_*.deb in $out; run installers/build-linux.sh" >&2; exit 1; }

failures=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; failures=$((failures + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root="$scratch/root"
echo "== $deb -> $root"
dpkg -x "$deb" "$root"

# Control fields: the package name, the version from Cargo.toml, the run-time libraries it dlopens.
check "Package is tilldesk" test "$(dpkg-deb -f "$deb" Package)" = tilldesk
check "Version is $version (Cargo.toml)" test "$(dpkg-deb -f "$deb" Version)" = "$version"
check "Maintainer is set" test -n "$(dpkg-deb -f "$deb" Maintainer 2>/dev/null)"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libxkbcommon-x11-0 libgl1 libegl1 libfontconfig1; do
    check "Depends names $lib" grep -q "$lib" <<<"$depends"
done

# The binary, run from where the package puts it.
bin="$root/usr/bin/tilldesk"
check "usr/bin/tilldesk is executable" test -x "$bin"
got=$("$bin" --version) || fail "tilldesk --version exits 0"
check "tilldesk --version says 'tilldesk $version' (got: $got)" test "$got" = "tilldesk $version"
data="$scratch/data"
doctor=$("$bin" --data-dir "$data" doctor) || fail "tilldesk doctor exits 0"
printf '%s\n' "$doctor" | sed 's/^/     | /'
check "doctor reports version $version" grep -q "^TillDesk $version\$" <<<"$doctor"
check "doctor created the database in the data folder" test -f "$data/tilldesk.sqlite3"
check "doctor reports the schema version" grep -q "^schema version: [0-9]" <<<"$doctor"
json=$("$bin" --data-dir "$data" doctor --json) || fail "tilldesk doctor --json exits 0"
check "doctor --json carries the version" grep -q "\"version\": \"$version\"" <<<"$json"

# The desktop entry: where menus look for it, pointing at the installed binary and icon.
desktop="$root/usr/share/applications/tilldesk.desktop"
check "desktop entry at usr/share/applications/tilldesk.desktop" test -f "$desktop"
if [[ -f "$desktop" ]]; then
    check "desktop entry: Exec=tilldesk" grep -qx "Exec=tilldesk" "$desktop"
    check "desktop entry: Icon=tilldesk" grep -qx "Icon=tilldesk" "$desktop"
    check "desktop entry: Name=TillDesk" grep -qx "Name=TillDesk" "$desktop"
    check "desktop entry: Chinese name" grep -q "^Name\[zh_CN\]=" "$desktop"
    check "desktop entry: StartupWMClass matches the window's app id" grep -qx "StartupWMClass=tilldesk" "$desktop"
    check "desktop entry: no unfilled template fields" bash -c "! grep -q '{{' '$desktop'"
    exec_name=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
    check "desktop entry's Exec is in usr/bin" test -x "$root/usr/bin/$exec_name"
    if command -v desktop-file-validate >/dev/null; then
        check "desktop-file-validate passes" desktop-file-validate "$desktop"
    fi
fi

# Icons: one PNG per size in the hicolor theme, named after Icon=.
for size in 16 32 48 64 128 256 512; do
    icon="$root/usr/share/icons/hicolor/${size}x${size}/apps/tilldesk.png"
    if [[ -f "$icon" ]]; then
        # PNG signature, then the IHDR width and height (big-endian) at bytes 16..23.
        sig=$(od -An -tx1 -N8 "$icon" | tr -d ' \n')
        wh=$(od -An -tu1 -j16 -N8 "$icon" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
        check "icon ${size}x${size} is a ${size}x${size} PNG (got $wh)" test "$sig" = 89504e470d0a1a0a -a "$wh" = "${size}x${size}"
    else
        fail "icon missing: usr/share/icons/hicolor/${size}x${size}/apps/tilldesk.png"
    fi
done
check "README installed as documentation" test -f "$root/usr/share/doc/tilldesk/README.md"

if [[ "${GUI:-0}" == "1" ]]; then
    if command -v xvfb-run >/dev/null; then
        # The window opens (first-run wizard on a fresh data folder) and is still up after 6 s.
        unset WAYLAND_DISPLAY
        gui_log="$scratch/gui.log"
        if xvfb-run -a -s "-screen 0 1280x800x24" bash -c \
            "'$bin' --data-dir '$scratch/gui-data' & pid=\$!; sleep 6; kill -0 \$pid && kill \$pid" >"$gui_log" 2>&1; then
            ok "the installed app opens its window under Xvfb"
        else
            fail "the installed app did not stay up under Xvfb:"; sed 's/^/     | /' "$gui_log" >&2
        fi
    else
        fail "GUI=1 but xvfb-run is not installed (apt-get install xvfb xauth)"
    fi
fi

if [[ "${DPKG_INSTALL:-0}" == "1" ]]; then
    # A real install (root): dpkg checks the dependencies, then the binary runs from /usr/bin.
    check "dpkg -i installs it" dpkg -i "$deb"
    check "/usr/bin/tilldesk --version" test "$(/usr/bin/tilldesk --version)" = "tilldesk $version"
    check "/usr/bin/tilldesk doctor" /usr/bin/tilldesk --data-dir "$scratch/installed-data" doctor
    check "dpkg -r removes it" dpkg -r tilldesk
    check "/usr/bin/tilldesk is gone" test ! -e /usr/bin/tilldesk
fi

if ((failures)); then
    echo "== $failures check(s) failed for $deb" >&2
    exit 1
fi
echo "== all checks passed for $deb ($(du -h "$deb" | cut -f1))"
