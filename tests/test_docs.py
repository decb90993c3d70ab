"""The shipped docs and Binder files stay true to the code.

Every error code must have its troubleshooting section (the CLI's ``see:`` line points there),
and ``binder/postBuild`` may only call commands that exist, since Binder cannot be run here.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import pkgutil
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from jupyter_spackcache.cli import build_parser
from jupyter_spackcache.errors import (
    TROUBLESHOOTING,
    SignatureError,
    SpackCacheError,
    SpecSyntaxError,
)
from jupyter_spackcache.present import error_text

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jupyter_spackcache"


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading: lower-case, punctuation dropped."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            found.add(github_anchor(m.group(1)))
    return found


def class_codes() -> set[str]:
    """``code`` of every SpackCacheError subclass in the package (all modules imported)."""
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="jupyter_spackcache."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    codes: set[str] = set()
    todo: list[type[SpackCacheError]] = [SpackCacheError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    return codes


def api_codes() -> set[str]:
    """Codes the REST handlers give ``ApiError(status, "code", ...)`` explicitly."""
    codes: set[str] = set()
    for path in (PACKAGE / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ApiError"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                codes.add(str(node.args[1].value))
    return codes


def test_every_error_code_has_a_troubleshooting_section() -> None:
    page = (ROOT / TROUBLESHOOTING).read_text()
    codes = class_codes() | api_codes()
    assert {"signature", "layout", "install", "push", "policy"} <= codes  # the scan works
    missing = sorted(code for code in codes if code not in anchors(page))
    assert missing == [], f"{TROUBLESHOOTING} has no section for: {', '.join(missing)}"


def test_anchor_rule_matches_github() -> None:
    assert github_anchor("signature") == "signature"
    assert github_anchor("not-found") == "not-found"
    assert github_anchor("layout 0 too old") == "layout-0-too-old"
    assert anchors("## a\n```\n## b\n```\n### c d\n") == {"a", "c-d"}


def test_error_names_its_section() -> None:
    exc = SignatureError("signed by key X, which is not in the trusted keyring", hint="trust it")
    assert exc.docs_anchor == "docs/troubleshooting.md#signature"
    assert error_text(exc).splitlines() == [
        "error: signed by key X, which is not in the trusted keyring",
        "  hint: trust it",
        "  see: docs/troubleshooting.md#signature",
    ]
    bare = SpecSyntaxError("empty spec", text="", column=None)
    assert error_text(bare).splitlines()[-1] == "  see: docs/troubleshooting.md#spec-syntax"


def test_docs_link_to_each_other() -> None:
    """Relative Markdown links between the docs pages point at files and headings that exist."""
    docs = ROOT / "docs"
    for page in ("user-guide.md", "admin-guide.md", "troubleshooting.md"):
        text = (docs / page).read_text()
        for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#([^)\s]+))?\)", text):
            path, fragment = target
            linked = (docs / path).resolve()
            assert linked.is_file(), f"{page} links to missing {path}"
            if fragment:
                assert fragment in anchors(linked.read_text()), f"{page}: {path}#{fragment}"
        for fragment in re.findall(r"\]\(#([^)\s]+)\)", text):
            assert fragment in anchors(text), f"{page}: #{fragment}"


def cli_commands() -> set[str]:
    """The names of ``spackcache``'s sub-commands, from its own parser."""
    table = next(a.choices for a in build_parser()._actions if a.dest == "command")
    assert isinstance(table, dict)
    return set(table)


# ---- binder ---------------------------------------------------------------------------------

BUILTINS = {"set", "cd", "echo", "export", "test", "[", "true"}


def commands(script: str) -> list[list[str]]:
    """Each simple command of a plain shell script (no functions, pipes or substitutions)."""
    found = []
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not re.search(r"[|;`]|\$\(|&&", line), f"keep postBuild plain: {line}"
        found.append(shlex.split(line))
    return found


def test_binder_post_build_is_executable_and_calls_real_commands() -> None:
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK)
    script = post_build.read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    calls = commands(script)
    cli = build_parser()
    subcommands = cli_commands()
    bin_dir = Path(sys.executable).parent
    for argv in calls:
        program, args = argv[0], argv[1:]
        if program in BUILTINS:
            continue
        assert program in {"python", "jupyter", "spackcache"}, f"unexpected program {program}"
        if program == "python":
            assert args[0] == "-m" and importlib.util.find_spec(args[1]) is not None
        elif program == "jupyter":
            # `jupyter X ...` runs the `jupyter-X` executable
            assert (bin_dir / f"jupyter-{args[0]}").exists() or shutil.which(
                f"jupyter-{args[0]}"
            ), args
        else:
            assert args[0] in subcommands, f"spackcache has no command {args[0]}"
            cli.parse_args(args)  # the arguments are valid too (exits on error)
    assert ["spackcache", "demo"] in calls
    assert any(argv[:3] == ["python", "-m", "pip"] and "." in argv for argv in calls)


def test_binder_environment_has_what_post_build_needs() -> None:
    import yaml

    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    names = {re.split(r"[=<>]", dep)[0] for dep in env["dependencies"] if isinstance(dep, str)}
    assert {"python", "pip", "nodejs", "jupyterlab"} <= names
    apt = (ROOT / "binder" / "apt.txt").read_text().split()
    assert {"gcc", "gnupg"} <= set(apt)  # the demo compiles with gcc and signs with gpg


@pytest.mark.parametrize("name", ["user-guide.md", "admin-guide.md", "troubleshooting.md"])
def test_docs_mention_only_real_cli_commands(name: str) -> None:
    """Every `spackcache WORD` in the docs is a command the CLI has."""
    subcommands = cli_commands()
    text = (ROOT / "docs" / name).read_text()
    used = set(re.findall(r"(?:^|[`$] ?)spackcache ([a-z][a-z-]+)", text, flags=re.M))
    assert used, name
    assert used <= subcommands, sorted(used - subcommands)


def test_openapi_check_refuses_what_the_document_does_not_say() -> None:
    """The REST tests check every answer with this; it must catch drift both ways."""
    from tests.support.openapi import check_response, check_schema

    mirror = {
        "name": "m",
        "url": "file:///m",
        "signed": True,
        "origin": "user",
        "pinned_keys": [],
        "credentials": False,
        "layout": None,
        "nodes": None,
    }
    check_response("GET", "/mirrors", 200, [mirror])
    with pytest.raises(AssertionError, match="'extra' was unexpected"):
        check_response("GET", "/mirrors", 200, [{**mirror, "extra": 1}])
    with pytest.raises(AssertionError, match="'layout' is a required property"):
        check_response("GET", "/mirrors", 200, [{k: v for k, v in mirror.items() if k != "layout"}])
    with pytest.raises(AssertionError, match="None is not of type 'string'"):
        check_response("GET", "/mirrors", 200, [{**mirror, "url": None}])
    error = {"error": {"code": "not-found", "message": "no task 'x'", "hint": None}}
    check_response("GET", "/tasks/x", 404, error)
    with pytest.raises(LookupError):
        check_response("GET", "/no-such-route", 200, {})
    with pytest.raises(LookupError):
        check_response("GET", "/tasks/x", 418, error)
    progress = {
        "task": "t",
        "hash": "h",
        "name": "n",
        "version": "1",
        "stage": "download",
        "bytes_done": 0,
        "bytes_total": None,
        "message": None,
        "time": 0.0,
    }
    check_schema("ProgressEvent", progress)
    with pytest.raises(AssertionError, match="'unpacking' is not one of"):
        check_schema("ProgressEvent", {**progress, "stage": "unpacking"})


def test_architecture_names_only_modules_that_exist() -> None:
    """docs/architecture.md follows the code: every module or package it names is there."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "jupyter_spackcache"
    names = set(re.findall(r"`([a-z_/]+(?:\.py|/))`", text))
    assert len(names) > 30
    every_file = {p.name for p in package.rglob("*.py")}
    missing = sorted(
        n
        for n in names
        if not (
            (package / n).exists()
            or (ROOT / n).exists()
            or ("/" not in n and n in every_file)
            or (n.endswith("/") and any(package.rglob(n.rstrip("/"))))
        )
    )
    assert missing == []
