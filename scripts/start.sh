#!/usr/bin/env bash
# The main job on a fresh machine: install everything into .venv (Python package + the built
# JupyterLab extension), build and trust a signed demo mirror from the bundled C sources with the
# local gcc (first run only, no network), then start JupyterLab with the Spack panel.
#
#   PORT=8888 IP=127.0.0.1 SPACKCACHE_HOME=~/.spackcache bash scripts/start.sh [extra jupyter lab args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
export PATH="$PWD/.venv/bin:$PATH"
export SPACKCACHE_HOME="${SPACKCACHE_HOME:-$HOME/.spackcache}"

spackcache demo                   # idempotent: builds, adds and trusts the demo mirror once
echo
spackcache host
echo
spackcache list
echo
echo "Starting JupyterLab: open the URL below, then the Spack panel in the left sidebar"
echo "(or run '%load_ext jupyter_spackcache' and '%spack install demo-tool' in a notebook)."
args=(--no-browser --ip="${IP:-127.0.0.1}" --port="${PORT:-8888}")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec jupyter lab "${args[@]}" "$@"
