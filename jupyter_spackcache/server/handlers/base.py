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
from tornado.web import HTTPError

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


class SpackCacheHandler(APIHandler):
    """Base of every route: ``auth_resource`` is what ``@authorized`` checks."""

    auth_resource = "spackcache"

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
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, "bad-request", f"request body is not JSON: {exc}") from exc
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
