"""OpenAPI 3 description built from the routes themselves, so it cannot drift from them."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from flask import Flask
from pydantic.json_schema import JsonSchemaMode, models_json_schema

F = TypeVar("F", bound=Callable)

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Operation:
    summary: str
    request: type[pydantic.BaseModel] | None = None
    # The query string's parameters, one per field, so clients (and the fuzzer) know them.
    query: type[pydantic.BaseModel] | None = None
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


def _openapi_path(rule: str) -> str:
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


def _documented_routes(app: Flask) -> list[tuple[Any, str, Operation]]:
    routes = []
    for rule in app.url_map.iter_rules():
        operation: Operation | None = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if not rule.rule.startswith(API_PREFIX) or operation is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule, method, operation))
    return routes


def _model_schemas(operations: list[Operation]) -> tuple[dict, dict[str, dict]]:
    """Return each model's reference and the components, built in one pass so that two models of
    the same name in different packages get different component names instead of overwriting."""
    wanted: set[tuple[type[pydantic.BaseModel], JsonSchemaMode]] = set()
    for operation in operations:
        wanted.update((model, "validation") for model in (operation.request, operation.query) if model)
        if operation.response is not None:
            wanted.add((operation.response, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))
    refs, definitions = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
    return refs, definitions.get("$defs", {})


def build_spec(app: Flask) -> dict:
    """Return the OpenAPI document for every documented /api/v1 route of the app."""
    routes = _documented_routes(app)
    refs, definitions = _model_schemas([operation for _, _, operation in routes])
    paths: dict[str, dict] = {}
    for rule, method, operation in routes:
        paths.setdefault(_openapi_path(rule.rule), {})[method.lower()] = _operation(operation, rule, refs, definitions)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{app.config['SYSTEM_NAME']} API", "version": app.config["VERSION"]},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **definitions},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_parameters(rule: Any) -> list[dict]:
    params = []
    for name in sorted(rule.arguments):
        converter = rule._converters.get(name)  # noqa: SLF001 - werkzeug keeps no public accessor
        maximum = getattr(converter, "max", None)
        if maximum is not None:  # the bounded int converter of core.web.bounds
            schema: dict = {"type": "integer", "minimum": 0, "maximum": maximum}
        else:
            schema = {"type": "string", "minLength": 1}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(ref: dict, definitions: dict[str, dict]) -> list[dict]:
    schema = definitions[ref["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(field_schema)}
        for name, field_schema in schema.get("properties", {}).items()
    ]


def _without_null(schema: dict) -> dict:
    """Return an optional field's schema without its null branch: a query parameter is left out instead."""
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "title") and (k != "default" or v is not None)}
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        return {**options[0], **rest}
    return {"anyOf": options, **rest} if options else rest


def _operation(operation: Operation, rule: Any, refs: dict, definitions: dict[str, dict]) -> dict:
    doc: dict[str, Any] = {"summary": operation.summary, "operationId": rule.endpoint.replace(".", "_")}
    if operation.tags:
        doc["tags"] = list(operation.tags)
    params = _path_parameters(rule)
    errors = set(operation.errors)
    if operation.query is not None:
        params += _query_parameters(refs[(operation.query, "validation")], definitions)
        errors.add(422)  # a query value the view refuses, naming the parameter
    if params:
        doc["parameters"] = params
    if operation.request is not None:
        content = {"application/json": {"schema": refs[(operation.request, "validation")]}}
        doc["requestBody"] = {"required": True, "content": content}
        errors |= {400, 415}  # a body that is not JSON, or not sent as application/json
    ok: dict[str, Any] = {"description": "OK"}
    if operation.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(operation.response, "serialization")]}}
    doc["responses"] = {str(operation.status): ok}
    for status in sorted(errors):
        doc["responses"][str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    doc["security"] = [{"bearer": []}] if operation.authenticated else []
    return doc
