"""Responses checked against ``docs/openapi.yaml``: the document says what the server answers.

The OpenAPI 3.0 schemas are turned into JSON Schema (``$ref`` inlined, ``allOf`` of objects
merged, ``nullable`` as a ``null`` type) and made strict, as the document's introduction
promises: an object schema lists every property the server sends, all of them present unless
the schema names its ``required`` ones, and no other (unless it says
``additionalProperties``).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@cache
def document() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return doc


def _resolve(node: Any, doc: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` replaced by (a copy of) what it points to."""
    if isinstance(node, list):
        return [_resolve(item, doc) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(copy.deepcopy(target), doc)
    return {key: _resolve(value, doc) for key, value in node.items()}


def strict(schema: Any) -> Any:
    """An OpenAPI schema (refs resolved) as strict JSON Schema."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    if "allOf" in schema and all("properties" in part for part in schema["allOf"]):
        parts = schema.pop("allOf")
        properties: dict[str, Any] = {}
        required: list[str] = []
        for part in parts:
            properties.update(part["properties"])
            required += part.get("required", list(part["properties"]))
        schema = {**schema, "type": "object", "properties": properties, "required": required}
    out = {key: strict(value) if key != "properties" else value for key, value in schema.items()}
    if "properties" in schema:
        out["properties"] = {name: strict(s) for name, s in schema["properties"].items()}
        out.setdefault("required", list(schema["properties"]))
        out.setdefault("additionalProperties", False)
    if out.pop("nullable", False):
        kind = out.get("type")
        if kind is not None:
            out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$")


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The strict JSON Schema of the documented answer, or None for a non-JSON one.

    Raises LookupError when the route, the method or the status is not documented.
    """
    doc = document()
    item = next((v for k, v in doc["paths"].items() if _template(k).match(path)), None)
    if item is None:
        raise LookupError(f"{path} is not documented in docs/openapi.yaml")
    operation = item.get(method.lower())
    if operation is None:
        raise LookupError(f"{method} {path} is not documented")
    response = operation["responses"].get(str(status))
    if response is None:
        raise LookupError(f"{method} {path} does not document status {status}")
    content = _resolve(response, doc).get("content", {})
    if "application/json" not in content:
        return None
    return strict(content["application/json"]["schema"])  # type: ignore[no-any-return]


def check_response(method: str, path: str, status: int, payload: Any) -> None:
    """Raise AssertionError naming every way ``payload`` differs from the document."""
    schema = response_schema(method, path, status)
    if schema is None:
        return
    _validate(schema, payload, f"{method} {path} {status}")


def _validate(schema: Any, payload: Any, what: str) -> None:
    errors = sorted(Draft202012Validator(schema).iter_errors(payload), key=lambda e: e.path)
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in errors]
        raise AssertionError(
            f"{what} disagrees with docs/openapi.yaml:\n  " + "\n  ".join(lines[:10])
        )


def check_schema(name: str, payload: Any) -> None:
    """Like :func:`check_response`, against ``components/schemas/<name>``."""
    doc = document()
    schema = strict(_resolve(doc["components"]["schemas"][name], doc))
    _validate(schema, payload, f"schema {name}")
