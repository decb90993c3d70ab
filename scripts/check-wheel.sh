#!/usr/bin/env bash
# Build the wheel from a clean copy of the sources and install it into a fresh venv with no
# node on PATH: proves the wheel alone carries the prebuilt JupyterLab extension, the server
# extension config, the CLI and the IPython extension.
#
# The build runs in a temporary copy (without labextension/ and lib/, as after
# `jlpm clean:all`) so that the JS is rebuilt from src/ and the shared work tree, whose
# labextension/ the editable install uses, is never touched.
#
# Usage: bash scripts/check-wheel.sh    (needs .venv from scripts/setup-venv.sh, node, git)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/check-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { printf '==> %s (%ds)\n' "$*" "$((SECONDS - started))"; }
fail() { printf 'check-wheel: %s\n' "$*" >&2; exit 1; }

# 1. A clean source tree: the tracked and new (not ignored) files only.
step "copying the sources to $work/src"
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$work/src"
[ ! -e "$work/src/labextension" ] || fail "labextension/ leaked into the clean copy"
# JS dependencies: copied (the build writes caches into node_modules), yarn cache shared read-only
if [ -d node_modules ]; then
    cp -a node_modules "$work/src/node_modules"
fi
if [ -d .yarn ]; then
    mkdir -p "$work/src/.yarn"
    [ -d .yarn/cache ] && ln -s "$repo/.yarn/cache" "$work/src/.yarn/cache"
    [ -f .yarn/install-state.gz ] && cp .yarn/install-state.gz "$work/src/.yarn/"
fi

# 2. The wheel (the build hook runs `jlpm install` and `jlpm build:prod`; jlpm is in .venv).
step "building the wheel"
"$repo/.venv/bin/python" -c 'import build' 2>/dev/null \
    || "$repo/.venv/bin/python" -m pip install -q build
PATH="$repo/.venv/bin:$PATH" "$repo/.venv/bin/python" -m build --wheel \
    --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; fail "python -m build failed"; }
wheels=("$work"/dist/jupyter_spackcache-*.whl)
[ -f "${wheels[0]}" ] || fail "no wheel was built"
wheel=${wheels[0]}
"$repo/.venv/bin/python" - "$wheel" <<'EOF' || fail "the wheel has no prebuilt labextension"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sys.exit(not any(n.endswith("labextensions/jupyter-spackcache/static/style.js") for n in names))
EOF
step "built $(basename "$wheel")"

# 3. A fresh venv with only the wheel and its dependencies (from the package index).
step "installing the wheel into a fresh venv"
base_python=$("$repo/.venv/bin/python" -c 'import sys; print(sys._base_executable)')
"$base_python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel" >"$work/pip.log" 2>&1 \
    || { tail -n 40 "$work/pip.log" >&2; fail "pip install of the wheel failed"; }

# 4. Checks, with no node (nothing below calls it) and Jupyter paths of the fresh venv only.
mkdir -p "$work/home" "$work/run"
run() {
    (cd "$work/run" && env -i HOME="$work/home" LANG=C.UTF-8 \
        PATH="$work/venv/bin:/usr/bin:/bin" JUPYTER_PREFER_ENV_PATH=1 \
        JUPYTER_CONFIG_DIR="$work/home/.jupyter" JUPYTER_DATA_DIR="$work/home/.local/jupyter" \
        SPACKCACHE_HOME="$work/home/.spackcache" SPACKCACHE_SITE_CONFIG=/nonexistent "$@")
}
plain() { sed 's/\x1b\[[0-9;]*m//g'; }

step "jupyter labextension list"
labext=$(run jupyter labextension list 2>&1 | plain)
grep -Eq 'jupyter-spackcache v[^ ]+ enabled +OK' <<<"$labext" \
    || { echo "$labext" >&2; fail "the labextension is not listed as enabled OK"; }

step "jupyter server extension list"
serverext=$(run jupyter server extension list 2>&1 | plain)
grep -Eq 'jupyter_spackcache enabled' <<<"$serverext" \
    && grep -Eq 'jupyter_spackcache [^ ]+ OK' <<<"$serverext" \
    || { echo "$serverext" >&2; fail "the server extension is not enabled and OK"; }

step "spackcache --version"
version=$(run spackcache --version)
[[ $version == "spackcache "* ]] || fail "unexpected version line: $version"

step "import jupyter_spackcache"
run python -c '
import sys, jupyter_spackcache as j
assert j.__file__.startswith(sys.prefix), j.__file__
assert j.__version__ != "0+unknown", j.__version__
points = j._jupyter_server_extension_points()
assert points[0]["module"] == "jupyter_spackcache", points
' || fail "the installed package does not import cleanly"

step "%load_ext jupyter_spackcache"
magic=$(run ipython --quick -c 'get_ipython().run_line_magic("load_ext", "jupyter_spackcache");
print("spack" in get_ipython().magics_manager.magics["line"])' 2>&1 | plain)
[[ $(tail -n 1 <<<"$magic") == *True ]] || { echo "$magic" >&2; fail "%load_ext did not register %spack"; }

step "ok: $version, labextension and server extension enabled, %spack loads"
echo "check-wheel: passed in $((SECONDS - started)) s"
