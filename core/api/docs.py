"""OpenAPI 3 description built from the routes themselves, so it cannot drift from them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from flask import Flask

F = TypeVar("F", bound=Callable)

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Operation:
    summary: str
    request: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    status: int = 200
    tags: tuple[str, ...] = ()
    errors: tuple[int, ...] = field(default=(400, 401, 403, 413, 422))
    authenticated: bool = True


def documented(summary: str, **details: Any) -> Callable[[F], F]:
    """Attach an OpenAPI operation to a JSON API view."""

    def decorator(view: F) -> F:
        view.openapi = Operation(summary, **details)  # type: ignore[attr-defined]
        return view

    return decorator


def _schema(model: type[pydantic.BaseModel]) -> dict:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def _openapi_path(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["status", "message"],
        }
    },
}


def build_spec(app: Flask) -> dict:
    """Return the OpenAPI document for every documented /api/v1 route of the app."""
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {"Error": ERROR_SCHEMA}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        operation: Operation | None = getattr(view, "openapi", None)
        if not rule.rule.startswith(API_PREFIX) or operation is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(_openapi_path(rule.rule), {})[method.lower()] = _operation(
                operation, rule, schemas
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{app.config['SYSTEM_NAME']} API", "version": app.config["VERSION"]},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(operation: Operation, rule: Any, schemas: dict[str, dict]) -> dict:
    doc: dict[str, Any] = {"summary": operation.summary, "operationId": rule.endpoint.replace(".", "_")}
    if operation.tags:
        doc["tags"] = list(operation.tags)
    params = [
        {"name": arg, "in": "path", "required": True, "schema": {"type": "string"}} for arg in sorted(rule.arguments)
    ]
    if params:
        doc["parameters"] = params
    if operation.request is not None:
        doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.request, schemas)}}}
    ok: dict[str, Any] = {"description": "OK"}
    if operation.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(operation.response, schemas)}}
    doc["responses"] = {str(operation.status): ok}
    for status in operation.errors:
        doc["responses"][str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    doc["security"] = [{"bearer": []}] if operation.authenticated else []
    return doc


def _ref(model: type[pydantic.BaseModel], schemas: dict[str, dict]) -> dict:
    schema = _schema(model)
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
