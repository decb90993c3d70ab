#!/usr/bin/env bash
# The main job on a fresh machine: install, build a signed demo mirror with the local gcc
# (no network), trust its key, and show what this host can install from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
export PATH="$PWD/.venv/bin:$PATH"
export SPACKCACHE_HOME="${SPACKCACHE_HOME:-$HOME/.spackcache}"

spackcache demo
echo
echo "\$ spackcache host"
spackcache host
echo
echo "\$ spackcache list"
spackcache list
echo
echo "\$ spackcache info demo-tool"
spackcache info demo-tool
