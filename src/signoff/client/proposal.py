"""Building a proposal body: the four fields that execute plus the reviewer's context (R6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from signoff.client.handoff import current_handoff
from signoff.client.payload import to_json_value
from signoff.errors import InvalidRequest

__all__ = ["Impact", "InputRef", "build_proposal"]


@dataclass(frozen=True, slots=True)
class Impact:
    """What happens downstream; irreversible or external work defaults to review (R13)."""

    reversible: bool = True
    external: bool = False
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"reversible": self.reversible, "external": self.external,
                "description": self.description}


@dataclass(frozen=True, slots=True)
class InputRef:
    """One piece of data the AI used, shown to the reviewer."""

    source: str
    ref: str = ""
    excerpt: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "excerpt": self.excerpt}


def _impact(value: Impact | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Impact):
        return value.as_dict()
    if isinstance(value, Mapping):
        out: dict[str, Any] = to_json_value(dict(value), "impact")
        return out
    raise InvalidRequest("impact must be an Impact or a mapping", field="impact")


def _inputs(values: Iterable[InputRef | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, item in enumerate(values or ()):
        if isinstance(item, InputRef):
            out.append(item.as_dict())
        elif isinstance(item, Mapping):
            out.append(to_json_value(dict(item), f"inputs[{i}]"))
        else:
            raise InvalidRequest(f"inputs[{i}] must be an InputRef or a mapping", field="inputs")
    return out


def build_proposal(
    *,
    workflow: str,
    kind: str,
    target: str,
    params: Mapping[str, Any],
    summary: str = "",
    inputs: Iterable[InputRef | Mapping[str, Any]] | None = None,
    impact: Impact | Mapping[str, Any] | None = None,
    on_behalf_of: str | None = None,
    parent_id: str | None = None,
    chain: Iterable[str] | None = None,
    idempotency_key: str,
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/actions``; the current handoff fills provenance left empty."""
    for name, value in (("workflow", workflow), ("kind", kind), ("target", target)):
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"{name} must be a non-empty string", field=name)
    if not isinstance(params, Mapping):
        raise InvalidRequest("params must be a mapping", field="params")
    handoff = current_handoff()
    if handoff is not None:
        parent_id = parent_id or handoff.parent_id
        chain = chain if chain is not None else handoff.chain
        on_behalf_of = on_behalf_of or handoff.on_behalf_of
    body: dict[str, Any] = {
        "workflow": workflow, "kind": kind, "target": target,
        "params": to_json_value(params), "summary": str(summary or ""),
        "inputs": _inputs(inputs), "on_behalf_of": on_behalf_of, "parent_id": parent_id,
        "chain": [str(c) for c in (chain or ())], "idempotency_key": idempotency_key,
    }
    imp = _impact(impact)
    if imp is not None:
        body["impact"] = imp
    return body
