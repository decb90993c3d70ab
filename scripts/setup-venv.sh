#!/usr/bin/env bash
# Create .venv (if missing) and install the project into it, editable, with its test extras.
# Idempotent: a second run only re-checks what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH"
python -m pip install -q --upgrade pip
# jupyterlab provides jlpm, which the editable build of the labextension needs
python -m pip install -q "jupyterlab>=4.2,<5" "hatchling>=1.5" "hatch-jupyter-builder>=0.10" \
    "hatch-nodejs-version>=0.3.2" "jupyter-builder>=1.2,<2"
python -m pip install -q -e ".[test]"
