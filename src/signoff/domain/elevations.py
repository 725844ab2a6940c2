"""Just-in-time elevation: an approved, time-bounded extra scope for one agent.

An agent proposes ``signoff.agent.elevate`` with ``{workflows, kinds, reason, duration}``; the
policy decides it like any action. When it is approved, signoff itself stores an
:class:`Elevation` for the window ``[starts_at, ends_at)`` and the agent's scope checks honour
it until the window ends or it is revoked. Whether an elevation is in force is a pure function
of the stored row and the clock, so a restart never extends or loses one.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signoff.errors import InvalidRequest

__all__ = [
    "ELEVATE_KIND",
    "MAX_ELEVATION_SECONDS",
    "Elevation",
    "ElevationRequest",
    "parse_duration",
    "parse_elevation",
]

ELEVATE_KIND = "signoff.agent.elevate"
MAX_ELEVATION_SECONDS = 24 * 3600
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_MAX_ITEMS = 50


def parse_duration(value: Any) -> int:
    """``"2h"``, ``"30m"``, ``"90s"``, ``"1d"`` or a number of seconds -> seconds (> 0, ≤ 24h)."""
    if isinstance(value, bool):
        seconds = -1
    elif isinstance(value, int):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    else:
        raise InvalidRequest('duration must look like "2h", "30m", "90s" or a number of seconds',
                             field="params.duration")
    if seconds <= 0:
        raise InvalidRequest("duration must be positive", field="params.duration")
    if seconds > MAX_ELEVATION_SECONDS:
        raise InvalidRequest(f"duration is capped at {MAX_ELEVATION_SECONDS // 3600}h; ask "
                             "again when the window ends", field="params.duration")
    return seconds


def _names(params: dict[str, Any], key: str) -> tuple[str, ...]:
    value = params.get(key)
    if not isinstance(value, list) or not value:
        raise InvalidRequest(f"{key} must be a non-empty list of strings", field=f"params.{key}")
    if len(value) > _MAX_ITEMS:
        raise InvalidRequest(f"at most {_MAX_ITEMS} {key}", field=f"params.{key}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 200:
            raise InvalidRequest(f"every entry of {key} must be a non-empty string (≤ 200 "
                                 "characters)", field=f"params.{key}")
        out.append(item.strip())
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class ElevationRequest:
    """The validated params of a ``signoff.agent.elevate`` proposal."""

    workflows: tuple[str, ...]
    kinds: tuple[str, ...]
    reason: str
    seconds: int


def parse_elevation(params: dict[str, Any]) -> ElevationRequest:
    """Validate elevation params before anything is proposed (bad params: 422)."""
    unknown = sorted(set(params) - {"workflows", "kinds", "reason", "duration"})
    if unknown:
        raise InvalidRequest(f"unknown elevation params: {', '.join(unknown)}", field="params")
    workflows, kinds = _names(params, "workflows"), _names(params, "kinds")
    if "*" in workflows:
        raise InvalidRequest("name the workflows; '*' cannot be requested",
                             field="params.workflows")
    if any(fnmatch.fnmatchcase(ELEVATE_KIND, k) for k in kinds):
        raise InvalidRequest("an elevation cannot grant the right to elevate",
                             field="params.kinds")
    reason = params.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("say why the extra scope is needed", field="params.reason")
    if "duration" not in params:
        raise InvalidRequest("duration is required", field="params.duration")
    return ElevationRequest(workflows=workflows, kinds=kinds, reason=reason.strip(),
                            seconds=parse_duration(params["duration"]))


@dataclass(slots=True)
class Elevation:
    id: str
    agent_id: str
    action_id: str
    workflows: list[str]
    kinds: list[str]
    reason: str
    starts_at: datetime
    ends_at: datetime
    granted_by: str = ""
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    ended_at: datetime | None = None   # when the end was recorded (audit event written)

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.starts_at <= now < self.ends_at

    def covers(self, workflow: str, kind: str) -> bool:
        return workflow in self.workflows and any(
            fnmatch.fnmatchcase(kind, pattern) for pattern in self.kinds)

    def public(self, now: datetime) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat().replace("+00:00", "Z") if d else None
        return {"id": self.id, "agent_id": self.agent_id, "action_id": self.action_id,
                "workflows": list(self.workflows), "kinds": list(self.kinds),
                "reason": self.reason, "starts_at": iso(self.starts_at),
                "ends_at": iso(self.ends_at), "granted_by": self.granted_by,
                "revoked_at": iso(self.revoked_at), "revoked_by": self.revoked_by,
                "ended_at": iso(self.ended_at), "active": self.active(now)}
