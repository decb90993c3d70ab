"""Every route of the extension refuses unauthenticated requests, and every verb is decorated.

The walk reads the routes from the running tornado application, so a handler added later is
covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError
from tornado.routing import PathMatches, Rule, RuleRouter
from tornado.web import RequestHandler

from jupyter_spackcache.server import ROUTES, route_table

pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = Path(__file__).resolve().parents[2]
HTTP_VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_GROUP = re.compile(r"\((?:[^()\\]|\\.)*\)")


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True}}}


@pytest.fixture(autouse=True)
def _state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("SPACKCACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "no-site.yaml"))


def _rules(router: RuleRouter) -> Iterator[Rule]:
    for rule in router.rules:
        if isinstance(rule.target, RuleRouter):
            yield from _rules(rule.target)
        else:
            yield rule


def our_routes(web_app: Any) -> list[tuple[PathMatches, type[RequestHandler]]]:
    routes = []
    for rule in _rules(web_app.default_router):
        target = rule.target
        if (
            isinstance(target, type)
            and issubclass(target, RequestHandler)
            and target.__module__.startswith("jupyter_spackcache.")
        ):
            assert isinstance(rule.matcher, PathMatches)
            routes.append((rule.matcher, target))
    return routes


def sample_path(matcher: PathMatches) -> str:
    """A concrete path the route matches: every URL group filled with a plausible value.

    (``PathMatches.reverse`` cannot be used: the test base URL contains ``%40``.)
    """
    pattern = matcher.regex.pattern.rstrip("$")
    for value in ("x", "1", "a1"):
        path = _GROUP.sub(value, pattern).replace("\\", "")
        if matcher.regex.match(path):
            return path
    raise AssertionError(f"cannot build a sample URL for route {matcher.regex.pattern!r}")


def implemented_verbs(handler: type[RequestHandler]) -> list[str]:
    verbs = []
    for verb in HTTP_VERBS:
        owner = next((c for c in handler.__mro__ if verb.lower() in vars(c)), None)
        if owner is not None and owner.__module__.startswith("jupyter_spackcache."):
            verbs.append(verb)
    return verbs


def test_route_table_is_below_base_url() -> None:
    paths = [path for path, _ in route_table("/a%40b/")]
    assert len(paths) == len(ROUTES)
    assert all(p.startswith("/a%40b/spackcache/api/") for p in paths)


async def test_every_route_refuses_unauthenticated_requests(
    jp_web_app: Any, http_server_client: Any
) -> None:
    routes = our_routes(jp_web_app)
    assert {h for _, h in routes} == {h for _, h in ROUTES}  # every route is registered
    checked = []
    for matcher, handler in routes:
        for verb in implemented_verbs(handler):
            body = b"{}" if verb in {"POST", "PUT", "PATCH"} else None
            with pytest.raises(HTTPClientError) as refused:
                await http_server_client.fetch(
                    sample_path(matcher), method=verb, body=body, follow_redirects=False
                )
            assert refused.value.code in {401, 403}, (handler.__name__, verb)
            checked.append((handler.__name__, verb))
    # every verb of every resource of the issue, nothing forgotten
    assert len(checked) == 22
    assert ("EventsHandler", "GET") in checked and ("TaskHandler", "DELETE") in checked
    assert ("DemoMirrorHandler", "POST") in checked


async def test_a_wrong_token_is_refused_too(
    jp_fetch: Any, jp_serverapp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    jp_serverapp.log.addHandler(caplog.handler)  # the admin's one line per refusal
    try:
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(
                "spackcache", "api", "installed", headers={"Authorization": "token not-the-token"}
            )
    finally:
        jp_serverapp.log.removeHandler(caplog.handler)
    assert refused.value.code == 403
    (line,) = {r.getMessage() for r in caplog.records if "spackcache refused" in r.getMessage()}
    assert "route=GET /" in line and line.endswith("status=403 code=http message=Forbidden")


def test_every_verb_is_authorized_for_the_spackcache_resource() -> None:
    """``@authorized`` wraps each verb (it reads ``auth_resource``); ``@authenticated`` too."""
    for _, handler in ROUTES:
        assert handler.auth_resource == "spackcache"
        for verb in implemented_verbs(handler):
            method = getattr(handler, verb.lower())
            files = []
            while method is not None:  # functools.wraps chain: outermost decorator first
                files.append(method.__code__.co_filename.replace("\\", "/"))
                method = getattr(method, "__wrapped__", None)
            assert any(f.endswith("tornado/web.py") for f in files), (handler.__name__, verb)
            assert any(f.endswith("jupyter_server/auth/decorator.py") for f in files), (
                handler.__name__,
                verb,
            )


def test_openapi_documents_every_route_and_verb() -> None:
    spec = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), verb.upper())
        for path, item in spec["paths"].items()
        for verb in item
        if verb.upper() in HTTP_VERBS
    }
    served = {
        ("/" + _GROUP.sub("{}", path), verb)
        for path, handler in ROUTES
        for verb in implemented_verbs(handler)
    }
    assert documented == served
