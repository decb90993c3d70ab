#!/usr/bin/env bash
# Unpack Debian's environment-modules (Tcl Environment Modules) into a directory, without
# installing it: the package conflicts with lmod, and the tests need both module systems.
# Usage: scripts/fetch-environment-modules.sh DEST  →  DEST/usr/lib/x86_64-linux-gnu/modulecmd.tcl
# Needs apt-get (with package lists: `apt-get update` first on a fresh machine), dpkg-deb, tclsh.
set -euo pipefail
dest=${1:?usage: $0 DEST}
if ls "$dest"/usr/lib/*/modulecmd.tcl >/dev/null 2>&1; then
    exit 0  # already there
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download environment-modules >/dev/null 2>&1); }
if ! download; then
    # a fresh machine may have no package lists yet: as root, fetch them once and retry
    if [ "$(id -u)" = 0 ] && apt-get update -q >/dev/null 2>&1 && download; then :; else
        echo "apt-get download environment-modules failed (run apt-get update?)" >&2
        exit 1
    fi
fi
mkdir -p "$dest.tmp.$$"
dpkg-deb -x "$work"/environment-modules_*.deb "$dest.tmp.$$"
rm -rf "$dest"
mv "$dest.tmp.$$" "$dest"
ls "$dest"/usr/lib/*/modulecmd.tcl
