#!/usr/bin/env bash
# Every test of the project, from a fresh machine: system packages, the venv, the JS build,
# lint, type checks, jest and pytest. Used by CI (.ci/run) and by developers alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. System packages the tests use as real servers/tools (root on CI; skipped when present).
need=()
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -x /usr/bin/chromium ] || need+=(chromium)     # browser tests drive Debian's chromium
[ -f /usr/share/lmod/lmod/init/bash ] || need+=(lmod)   # modulefile tests: real Lmod
command -v tclsh >/dev/null 2>&1 || need+=(tcl)         # ... and Tcl Environment Modules
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)  # HTTPS_PROXY tests: a real proxy
command -v openssl >/dev/null 2>&1 || need+=(openssl)      # site-CA tests make a CA
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
    else
        echo "test.sh: missing ${need[*]}; install them (apt-get) or some tests will be skipped" >&2
    fi
fi

# 2. Python environment with the package (editable: builds the labextension too).
bash scripts/setup-venv.sh
export PATH="$PWD/.venv/bin:$PATH"

# JupyterHub tests: the hub's proxy, configurable-http-proxy, from npm (kept aside, not global).
chp_prefix="${HOME}/.cache/jupyter-spackcache/chp"
if [ ! -x "$chp_prefix/node_modules/.bin/configurable-http-proxy" ] && command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix "$chp_prefix" configurable-http-proxy@4 \
        || echo "test.sh: configurable-http-proxy not installed; the JupyterHub tests will skip" >&2
fi
export SPACKCACHE_CHP="${SPACKCACHE_CHP:-$chp_prefix/node_modules/.bin/configurable-http-proxy}"

# 3. Static checks of the Python core.
ruff check .
ruff format --check .
mypy

# 4. Frontend: build, lint, jest.
bash scripts/ci-js.sh

# 5. The wheel alone (no node, fresh venv) gives a working CLI, server extension, panel, magics.
bash scripts/check-wheel.sh

# 6. Tcl Environment Modules conflicts with lmod as a package: unpack it aside for the tests.
export SPACKCACHE_ENVMODULES="${SPACKCACHE_ENVMODULES:-$HOME/.cache/jupyter-spackcache/environment-modules}"
bash scripts/fetch-environment-modules.sh "$SPACKCACHE_ENVMODULES" \
    || echo "test.sh: no environment-modules; the Tcl module tests will be skipped" >&2

# 7. Python tests, all of tests/ (servers on 127.0.0.1, real gpg, gcc, docker-registry, moto),
#    the browser tests in tests/ui/ included: JupyterLab with the extension built in step 4,
#    driven by headless Chromium. `bash scripts/test.sh -m "not slow"` is the fast run.
python -m pytest -q -p no:cacheprovider "$@"
