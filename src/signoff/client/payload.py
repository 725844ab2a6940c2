"""The exact bytes a grant is bound to, computed on the agent's side.

The server computes the same digest (SPEC §2); the SDK recomputes it locally so that a grant is
checked against the arguments the function is *about to run with*, not against whatever the
server echoed back. Arguments are normalised (tuples become lists) and checked before any
network call, so a value JSON cannot carry fails with a clear message instead of a half-sent
proposal.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import rfc8785

from signoff.errors import InvalidRequest

__all__ = ["MAX_SAFE_INTEGER", "compute_digest", "to_json_value"]

# RFC 8785 numbers are IEEE doubles: an integer beyond 2**53 - 1 would hash differently on a
# server that parsed it as a float, so it is refused up front.
MAX_SAFE_INTEGER = 2**53 - 1


def to_json_value(value: Any, path: str = "params") -> Any:
    """A JSON-ready copy of ``value``; raises ``InvalidRequest`` naming the first bad field."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidRequest(
                f"{path}: integer {value} is outside the JSON safe range (±2**53-1)", field=path
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"{path}: {value} is not a JSON number", field=path)
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest(
                    f"{path}: key {key!r} is a {type(key).__name__}, JSON keys are strings",
                    field=path,
                )
            out[key] = to_json_value(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidRequest(
        f"{path}: a {type(value).__name__} is not JSON-serialisable; pass plain data "
        "(str, int, float, bool, None, list, dict)",
        field=path,
    )


def compute_digest(workflow: str, kind: str, target: str, params: Mapping[str, Any]) -> str:
    """``sha256:`` + hex SHA-256 of the RFC 8785 JSON of ``{workflow, kind, target, params}``."""
    body = rfc8785.dumps(
        {"workflow": workflow, "kind": kind, "target": target, "params": to_json_value(params)}
    )
    return "sha256:" + hashlib.sha256(body).hexdigest()
