#!/usr/bin/env bash
# Frontend checks for CI: install (from the committed lock), build, lint, unit tests.
# Needs `jlpm` on PATH (it comes with jupyterlab / jupyter-builder in the project venv).
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v jlpm >/dev/null 2>&1; then
    echo "ci-js: jlpm not found; put the project venv's bin/ first on PATH" >&2
    exit 2
fi

if [ -s yarn.lock ]; then
    # --immutable: fail if package.json and yarn.lock disagree instead of silently re-resolving
    jlpm install --immutable
else
    echo "ci-js: yarn.lock missing or empty; resolving dependencies afresh" >&2
    jlpm install
fi

jlpm build
jlpm lint:check
jlpm test
echo "ci-js: OK"
