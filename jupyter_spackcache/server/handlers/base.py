"""What every handler shares: auth resource, JSON in and out, errors as one-line JSON.

A :class:`~jupyter_spackcache.errors.SpackCacheError` raised anywhere in a handler becomes
``{"error": {"code", "message", "hint"}}`` with a status chosen by its code, so the panel
shows exactly the line the CLI would print.
"""

from __future__ import annotations

import json
from http.client import responses
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError, stream_request_body

from ...errors import SpackCacheError
from ...present import rest_hint

if TYPE_CHECKING:
    from ..state import ServerState

#: HTTP status per SpackCacheError code; anything else is a 400 (the request could not be done)
STATUS_BY_CODE: dict[str, int] = {
    "spec-syntax": 400,
    "config": 400,
    "policy": 403,
    "resolve": 404,
    "not-found": 404,
    "signature": 400,
    "mirror": 502,
    "layout": 502,
    "integrity": 502,
    "install": 409,
    "cancelled": 409,
    "env-file": 400,
    "locked-build-missing": 404,
    # a mirror's content refused (request bodies that are too large say 413 themselves)
    "too-large": 502,
    "signed-mismatch": 502,
    "dependency-cycle": 502,
    "duplicate-hash": 502,
}


class ApiError(SpackCacheError):
    """A request-level failure with an explicit HTTP status (404 unknown id, 403 policy ...)."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


def status_for(error: SpackCacheError) -> int:
    if isinstance(error, ApiError):
        return error.status
    return STATUS_BY_CODE.get(error.code, 400)


def error_json(error: SpackCacheError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "hint": rest_hint(error)}}


#: the largest request body a route accepts (the biggest real one, a plan, is a few KB)
MAX_BODY_BYTES = 1 << 20
#: the deepest JSON a route accepts (real bodies are two levels deep)
MAX_JSON_DEPTH = 32


@stream_request_body
class SpackCacheHandler(APIHandler):
    """Base of every route: ``auth_resource`` is what ``@authorized`` checks.

    Bodies are streamed in and counted, so an oversized one is refused (413) as it arrives
    instead of being held in memory whole.
    """

    auth_resource = "spackcache"
    _chunks: list[bytes]
    _received: int

    async def prepare(self) -> None:  # type: ignore[override]
        self._chunks, self._received = [], 0
        await super().prepare()
        if self._finished:
            return
        self.request.connection.set_max_body_size(MAX_BODY_BYTES)  # type: ignore[union-attr]
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self._received += len(chunk)
        if self._received > MAX_BODY_BYTES:
            raise _too_large()
        self._chunks.append(chunk)

    @property
    def state(self) -> ServerState:
        state: ServerState = self.settings["spackcache"]
        return state

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 saying why not."""
        raw = b"".join(getattr(self, "_chunks", ())) or self.request.body or b"{}"
        body: Any = None
        try:
            body = json.loads(raw)
            too_deep = json_depth(body) > MAX_JSON_DEPTH
        except RecursionError:  # the decoder's own stack: deeper than anything sane
            too_deep = True
        except ValueError as exc:
            raise ApiError(400, "bad-request", f"request body is not JSON: {exc}") from exc
        if too_deep:
            raise ApiError(
                400, "too-large", f"request JSON is nested more than {MAX_JSON_DEPTH} levels deep"
            )
        if not isinstance(body, dict):
            raise ApiError(400, "bad-request", "request body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SpackCacheError):
            self.set_status(status_for(exc))
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error_json(exc)))
            return
        if isinstance(exc, HTTPError) or exc is None:
            reason = self._reason if exc is None else (exc.log_message or self._reason)
            self.set_header("Content-Type", "application/json")
            body = {"error": {"code": "http", "message": reason, "hint": None}}
            self.finish(json.dumps(body))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, SpackCacheError):  # a user error, not a server bug: no traceback
            self.log_refusal(status_for(value), value.code, value.message)
            return
        if isinstance(value, HTTPError):
            # logged before the status is set: self._reason would still say "OK"
            reason = value.reason or responses.get(value.status_code, "Unknown")
            self.log_refusal(value.status_code, "http", value.log_message or reason)
            return
        super().log_exception(typ, value, tb)

    def log_refusal(self, status: int, code: str, message: str) -> None:
        """One line per refused request, for the admin: who, which route, why."""
        user = getattr(self.current_user, "username", None) or "-"
        self.log.warning(
            "spackcache refused: user=%s route=%s status=%d code=%s message=%s",
            user,
            f"{self.request.method} {self.request.path}",
            status,
            code,
            message,
        )


def _too_large() -> ApiError:
    return ApiError(
        413,
        "too-large",
        f"request body larger than {MAX_BODY_BYTES} bytes",
        hint="the routes take small JSON objects; see docs/openapi.yaml",
    )


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (walked without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def require_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad-request", f"'{key}' must be a non-empty string")
    return value


def require_str_list(body: dict[str, Any], key: str, *, allow_empty: bool = False) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "bad-request", f"'{key}' must be a list of strings")
    if not value and not allow_empty:
        raise ApiError(400, "bad-request", f"'{key}' must not be empty")
    return value


def optional_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ApiError(400, "bad-request", f"'{key}' must be true or false")
    return value
