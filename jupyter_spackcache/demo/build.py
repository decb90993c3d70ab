"""Build the bundled demo stack with the host's gcc and push it into a v3 mirror.

The stack is a three-deep link chain ``demo-tool -> libdemo-mid -> libdemo-base`` plus
``demo-scripts`` (a run dependency on demo-tool, a >127-character shebang, symlinks and a
hard link), built into a long padded store root the way Spack's CI does. Every prefix string
is compiled or written into the files, so an installer must really relocate them.

The functions are small on purpose: tests that need a *broken* mirror build the stack once,
then push it their own way (another key, no key) or damage it with :mod:`.broken`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.recipe import class_name, recipe_paths
from jupyter_spackcache.formats.specfile import dag_closure, make_node, make_specfile, package_hash
from jupyter_spackcache.host import detect_host
from jupyter_spackcache.push.tarball import create_tarball, make_buildinfo
from jupyter_spackcache.push.writer import Signer, V3MirrorWriter
from jupyter_spackcache.trust import Keyring

#: padded store root length; Spack's CI pads to 256, we stay a bit lower for tmp paths
PADDED_LENGTH = 200
_PLACEHOLDER = "/__spack_path_placeholder__"
_TEMPLATE_VAR = re.compile(r"@PREFIX(?::([a-z0-9-]+))?@|@VERSION@|@NAME@")
DEMO_KEY_NAME = "jupyter-spackcache demo key"
DEMO_KEY_EMAIL = "demo@jupyter-spackcache.invalid"


@dataclass(frozen=True, slots=True)
class PackageRecipe:
    """One demo package as described in ``data/recipe.json``."""

    name: str
    version: str
    link: tuple[str, ...] = ()
    run: tuple[str, ...] = ()
    library: str | None = None
    executable: str | None = None
    sources: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    templates: tuple[tuple[str, str], ...] = ()
    executables: tuple[str, ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    hardlinks: tuple[tuple[str, str], ...] = ()
    #: what the package is: the docstring of its recipe snapshot
    description: str = ""

    @property
    def compiled(self) -> bool:
        return bool(self.sources)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PackageRecipe:
        return cls(
            name=raw["name"],
            version=raw["version"],
            link=tuple(raw.get("link", ())),
            run=tuple(raw.get("run", ())),
            library=raw.get("library"),
            executable=raw.get("executable"),
            sources=tuple(raw.get("sources", ())),
            headers=tuple(raw.get("headers", ())),
            templates=tuple(sorted(raw.get("templates", {}).items())),
            executables=tuple(raw.get("executables", ())),
            symlinks=tuple(sorted(raw.get("symlinks", {}).items())),
            hardlinks=tuple(sorted(raw.get("hardlinks", {}).items())),
            description=raw.get("description", ""),
        )


@dataclass(frozen=True, slots=True)
class Toolchain:
    """Where and with what the stack is built: the host's generic target, gcc and glibc."""

    platform: str
    os: str
    target: str
    gcc: str
    gcc_version: str
    libc_version: str


@dataclass(frozen=True, slots=True)
class BuiltPackage:
    """A package built into the demo store, ready to be tarballed and pushed."""

    name: str
    version: str
    hash: str
    prefix: Path
    store_root: str
    sbang_path: str
    #: buildcache spec file (root node first, whole DAG incl. externals)
    specfile: dict[str, Any] = field(repr=False)
    #: old prefixes relocation must map (the spec, transitive link deps, direct run deps)
    hash_to_prefix: dict[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class DemoMirror:
    path: Path
    #: signing key fingerprint, None for an unsigned mirror
    fingerprint: str | None
    specs: tuple[BuiltPackage, ...]


def _data_dir() -> Path:
    return Path(str(resources.files("jupyter_spackcache.demo") / "data"))


def load_recipes() -> tuple[PackageRecipe, ...]:
    """The demo recipes, dependencies before dependents."""
    raw = json.loads((_data_dir() / "recipe.json").read_text(encoding="utf-8"))
    return tuple(PackageRecipe.from_dict(p) for p in raw["packages"])


def detect_toolchain() -> Toolchain:
    """The host's platform, OS label, generic target family, gcc and glibc versions."""
    host = detect_host()
    gcc = shutil.which("gcc")
    if gcc is None:
        raise InstallError(
            "no gcc on PATH: the demo stack is compiled locally",
            hint="install gcc (e.g. apt-get install gcc)",
        )
    version = subprocess.run(
        [gcc, "-dumpfullversion"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if host.libc is None or host.libc.name != "glibc":
        raise InstallError("the demo stack needs a glibc-based Linux host")
    return Toolchain(host.platform, host.os, host.family, gcc, version, host.libc.version)


def padded_root(root: str, length: int = PADDED_LENGTH) -> str:
    """``root`` padded with Spack's placeholder directories to exactly ``length`` chars."""
    if len(root) >= length:
        return root
    reps = (length - len(root)) // len(_PLACEHOLDER) + 1
    padded = (root + _PLACEHOLDER * reps)[:length]
    return padded[:-1] + "_" if padded.endswith("/") else padded


def _external_nodes(tc: Toolchain) -> tuple[dict[str, Any], dict[str, Any]]:
    gcc = make_node(
        "gcc",
        tc.gcc_version,
        platform=tc.platform,
        os=tc.os,
        target=tc.target,
        variants={"build_system": "generic", "languages": ["c"]},
        external=str(Path(tc.gcc).parent.parent),
        external_attributes={"compilers": {"c": tc.gcc}},
    )
    glibc = make_node(
        "glibc",
        tc.libc_version,
        platform=tc.platform,
        os=tc.os,
        target=tc.target,
        variants={"build_system": "autotools"},
        external="/usr",
    )
    return gcc, glibc


def _recipe_hash(recipe: PackageRecipe) -> str:
    """Recipe fingerprint: the recipe entry plus every source and template it uses."""
    blob = repr(recipe).encode("utf-8")
    for name in (*recipe.sources, *recipe.headers, *(t for _, t in recipe.templates)):
        blob += (_data_dir() / name).read_bytes()
    return package_hash(blob)


def plan_nodes(recipes: Sequence[PackageRecipe], tc: Toolchain) -> dict[str, dict[str, Any]]:
    """Concrete node dicts for every package (by name), externals included. Pure."""
    gcc, glibc = _external_nodes(tc)
    nodes: dict[str, dict[str, Any]] = {"gcc": gcc, "glibc": glibc}
    for recipe in recipes:
        deps: list[tuple[str, str, Sequence[str], Sequence[str]]] = []
        if recipe.compiled:
            deps += [
                ("gcc", gcc["hash"], ("build",), ("c",)),
                ("glibc", glibc["hash"], ("link",), ("libc",)),
            ]
        for dep in recipe.link:
            deps.append((dep, nodes[dep]["hash"], ("build", "link"), ()))
        for dep in recipe.run:
            deps.append((dep, nodes[dep]["hash"], ("run",), ()))
        nodes[recipe.name] = make_node(
            recipe.name,
            recipe.version,
            platform=tc.platform,
            os=tc.os,
            target=tc.target,
            deps=deps,
            recipe_hash=_recipe_hash(recipe),
        )
    return nodes


def relocation_deps(name: str, recipes: Mapping[str, PackageRecipe]) -> list[str]:
    """``name``, its transitive link deps (breadth-first), then its direct run deps."""
    order = [name]
    i = 0
    while i < len(order):
        for dep in recipes[order[i]].link:
            if dep not in order:
                order.append(dep)
        i += 1
    order += [d for d in recipes[name].run if d not in order]
    return order


def _substitute(text: str, recipe: PackageRecipe, prefixes: Mapping[str, Path]) -> str:
    def value(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "@VERSION@":
            return recipe.version
        if token == "@NAME@":
            return recipe.name
        return str(prefixes[match.group(1) or recipe.name])

    return _TEMPLATE_VAR.sub(value, text)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise InstallError(
            f"demo build step failed: {' '.join(cmd[:3])} ...: "
            f"{detail[-1] if detail else done.returncode}"
        )


def _compile(
    recipe: PackageRecipe,
    tc: Toolchain,
    prefixes: Mapping[str, Path],
    closure: Sequence[str],
    recipes: Mapping[str, PackageRecipe],
) -> None:
    prefix = prefixes[recipe.name]
    deps = [d for d in closure if d != recipe.name]
    flags = [f'-DDEMO_PREFIX="{prefix}"', "-O2", "-fPIC", "-g0"]
    flags += [f"-I{prefixes[d]}/include" for d in deps]
    libs: list[str] = []
    for dep in deps:
        libs.append(f"-L{prefixes[dep]}/lib")
        libs.append(f"-Wl,-rpath,{prefixes[dep]}/lib")
    libs += [f"-l{recipes[d].library}" for d in recipe.link if recipes[d].library]
    sources = [str(_data_dir() / s) for s in recipe.sources]
    if recipe.library:
        out = prefix / "lib" / f"lib{recipe.library}.so"
        out.parent.mkdir(parents=True, exist_ok=True)
        soname = f"-Wl,-soname,lib{recipe.library}.so"
        _run(
            [
                tc.gcc,
                "-shared",
                *flags,
                f"-I{_data_dir()}",
                *sources,
                "-o",
                str(out),
                soname,
                "-Wl,--disable-new-dtags",
                *libs,
            ]
        )
    if recipe.executable:
        out = prefix / "bin" / recipe.executable
        out.parent.mkdir(parents=True, exist_ok=True)
        _run([tc.gcc, *flags, *sources, "-o", str(out), "-Wl,--disable-new-dtags", *libs])


def _install_files(recipe: PackageRecipe, prefixes: Mapping[str, Path]) -> None:
    prefix = prefixes[recipe.name]
    for header in recipe.headers:
        (prefix / "include").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_data_dir() / header, prefix / "include" / header)
    for dest, template in recipe.templates:
        target = prefix / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        text = (_data_dir() / template).read_text(encoding="utf-8")
        target.write_text(_substitute(text, recipe, prefixes), encoding="utf-8")
    for exe in recipe.executables:
        os.chmod(prefix / exe, 0o755)
    for dest, link_target in recipe.symlinks:
        (prefix / dest).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(_substitute(link_target, recipe, prefixes), prefix / dest)
    for dest, existing in recipe.hardlinks:
        os.link(prefix / existing, prefix / dest)


def recipe_snapshot(recipe: PackageRecipe) -> str:
    """The ``package.py`` a Spack build of ``recipe`` would leave in its prefix: the class,
    its docstring (the package's description), version and dependencies. Data only."""
    deps = [f'    depends_on("{d}", type=("build", "link"))' for d in recipe.link]
    deps += [f'    depends_on("{d}", type="run")' for d in recipe.run]
    body = "\n".join([f'    version("{recipe.version}")', *(["", *deps] if deps else [])])
    doc = textwrap.fill(recipe.description, 88, initial_indent="    ", subsequent_indent="    ")
    return (
        "# Recipe snapshot of a jupyter-spackcache demo package, where Spack keeps the recipe\n"
        "# of every binary it builds (.spack/repos/).\n"
        "from spack.package import *\n\n\n"
        f"class {class_name(recipe.name)}(Package):\n"
        f'    """\n{doc}\n    """\n\n'
        "    has_code = False\n\n"
        f"{body}\n"
    )


def write_recipe_snapshots(
    prefix: Path, names: Sequence[str], recipes: Mapping[str, PackageRecipe], namespace: str
) -> None:
    """Snapshots of ``names``' recipes under ``prefix/.spack/repos`` in Spack 1.x's layout
    (package API v2), as Spack writes one for every node of the DAG it installs."""
    repo: Path | None = None
    for name in names:
        path = prefix / recipe_paths(name, namespace)[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(recipe_snapshot(recipes[name]), encoding="utf-8")
        repo = path.parent.parent.parent
    if repo is not None:
        (repo / "repo.yaml").write_text(
            f"repo:\n  namespace: '{namespace}'\n  api: v2.0\n", encoding="utf-8"
        )


def _dag_packages(name: str, recipes: Mapping[str, PackageRecipe]) -> list[str]:
    """``name`` and every demo package it depends on (link or run), each once."""
    order = [name]
    for current in order:
        order += [d for d in (*recipes[current].link, *recipes[current].run) if d not in order]
    return order


def build_demo_stack(work: Path, *, toolchain: Toolchain | None = None) -> list[BuiltPackage]:
    """Compile the demo packages into ``<work>/store/<padding>/<platform>-<target>/...``.

    Each prefix gets ``.spack/spec.json`` and, like a Spack build, the recipe snapshots of
    its DAG in ``.spack/repos``. Returns packages in dependency order.
    """
    tc = toolchain or detect_toolchain()
    recipes = {r.name: r for r in load_recipes()}
    nodes = plan_nodes(tuple(recipes.values()), tc)
    unpadded = str(Path(os.path.abspath(work)) / "store")
    store_root = padded_root(unpadded)
    prefixes = {
        name: Path(store_root)
        / f"{tc.platform}-{tc.target}"
        / f"{name}-{r.version}-{nodes[name]['hash']}"
        for name, r in recipes.items()
    }
    by_hash = {n["hash"]: n for n in nodes.values()}
    built: list[BuiltPackage] = []
    for name, recipe in recipes.items():
        prefix = prefixes[name]
        if prefix.exists():
            raise InstallError(
                f"demo prefix already exists: {prefix}", hint="build into a fresh work directory"
            )
        (prefix / ".spack").mkdir(parents=True)
        closure = relocation_deps(name, recipes)
        if recipe.compiled:
            _compile(recipe, tc, prefixes, closure, recipes)
        _install_files(recipe, prefixes)
        write_recipe_snapshots(
            prefix, _dag_packages(name, recipes), recipes, nodes[name]["namespace"]
        )
        specfile = make_specfile(dag_closure(nodes[name], by_hash))
        spec_json = json.dumps({"spec": specfile["spec"]}, separators=(",", ":"))
        (prefix / ".spack" / "spec.json").write_text(spec_json, encoding="utf-8")
        built.append(
            BuiltPackage(
                name=name,
                version=recipe.version,
                hash=nodes[name]["hash"],
                prefix=prefix,
                store_root=store_root,
                sbang_path=f"{unpadded}/bin/sbang",
                specfile=specfile,
                hash_to_prefix={nodes[d]["hash"]: str(prefixes[d]) for d in closure},
            )
        )
    return built


def make_package_tarball(pkg: BuiltPackage, out: Path) -> str:
    """Tarball of one built package with its relocation facts; returns the sha256."""
    buildinfo = make_buildinfo(
        pkg.prefix,
        store_root=pkg.store_root,
        sbang_path=pkg.sbang_path,
        hash_to_prefix=pkg.hash_to_prefix,
    )
    return create_tarball(pkg.prefix, out, buildinfo=buildinfo)


def push_packages(
    packages: Sequence[BuiltPackage],
    dest: Path,
    *,
    keyring: Signer | None = None,
    signing_key: str | None = None,
    publish_key: bool = True,
    write_index: bool = True,
) -> None:
    """Tarball and push ``packages`` into the v3 mirror at ``dest`` (signed if keyed)."""
    writer = V3MirrorWriter(dest, keyring=keyring, signing_key=signing_key)
    with tempfile.TemporaryDirectory(prefix="demo-tar-") as tmp:
        for pkg in packages:
            tarball = Path(tmp) / f"{pkg.hash}.tar.gz"
            make_package_tarball(pkg, tarball)
            writer.add(pkg.specfile, tarball)
    if signing_key is not None and publish_key:
        writer.add_key(signing_key)
    if write_index:
        writer.write_index()


def create_demo_key(keyring: Keyring, *, key_length: int = 4096) -> str:
    """A fresh, unprotected RSA signing key for the demo mirror; returns its fingerprint."""
    return keyring.create_key(DEMO_KEY_NAME, DEMO_KEY_EMAIL, key_length=key_length).fingerprint


def build_demo_mirror(
    dest: Path, *, keyring: Keyring | None, signing_key: str | None = None
) -> DemoMirror:
    """Build the demo stack in a scratch dir and push it to a v3 mirror at ``dest``.

    With a keyring and no ``signing_key``, a fresh demo key is generated and published in the
    mirror; with neither, the mirror is unsigned. The build tree is removed afterwards, so
    installing from the mirror really exercises relocation.
    """
    if keyring is not None and signing_key is None:
        signing_key = create_demo_key(keyring)
    work = Path(tempfile.mkdtemp(prefix="spackcache-demo-"))
    try:
        packages = build_demo_stack(work)
        push_packages(packages, Path(dest), keyring=keyring, signing_key=signing_key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DemoMirror(Path(dest), signing_key, tuple(packages))
