"""Fast JSON in and out on the hot endpoints: pydantic-core from bytes, orjson to bytes.

FastAPI runs ``jsonable_encoder`` over any plain return value and its dependency machinery over
every declared parameter, which together cost more than the database work on the proposal
path; the hot endpoints parse their body with :func:`parse_body` and return a ready Response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["document_bodies", "json_body", "json_response", "parse_body"]

M = TypeVar("M", bound=BaseModel)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_UTC_Z), status_code=status,
                    media_type="application/json")


def parse_body(model: type[M], raw: bytes) -> M:
    """The model from a JSON body; bad input raises what FastAPI raises (the same 422)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def json_body(model: type[BaseModel], *headers: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that parses ``model`` itself (and reads ``headers``)."""
    extra: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}
    if headers:
        extra["parameters"] = list(headers)
    _DOCUMENTED.append(model)
    return extra


_DOCUMENTED: list[type[BaseModel]] = []


def document_bodies(app: FastAPI) -> None:
    """Put the models named by :func:`json_body` into the OpenAPI components."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in _DOCUMENTED:
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in js.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components[model.__name__] = js
        return app.openapi_schema or schema

    app.openapi = openapi  # type: ignore[method-assign]
