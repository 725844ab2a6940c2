"""Fail-open for low-risk work, kept honest: only where the policy said "low", and audited.

Failing closed is the default (R11). A gate may opt in with ``fail_open_for=("low",)`` so that
routine low-risk automation (drafting, summarising) keeps going while signoff is unreachable.
The SDK cannot evaluate the policy itself, so it relies on what the *server* decided before:
``TierMemory`` records every decision this client saw, per ``(workflow, kind)``. A gate fails
open only when the remembered decisions for that pair are all in the allowed tiers, their mode
was ``allow``, and the memory is fresh (``max_age``). A fresh process that never reached
signoff therefore never fails open, and one ``high`` decision for the pair blocks it until the
memory ages out.

Every call that ran without signoff is written to a ``FailOpenJournal`` (optionally a JSON-lines
file that survives restarts) and sent to ``POST /v1/fail-open`` once signoff answers again, so
the record of what ran is complete (R7, R12).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from signoff.errors import InvalidRequest

__all__ = [
    "FAIL_OPEN_PATH",
    "FAIL_OPEN_TIERS",
    "FailOpenJournal",
    "FailOpenRecord",
    "TierMemory",
    "check_fail_open_tiers",
]

FAIL_OPEN_PATH = "/v1/fail-open"
FAIL_OPEN_TIERS = frozenset({"low"})
_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def check_fail_open_tiers(tiers: Iterable[str]) -> frozenset[str]:
    """Refuse, at decoration time, fail-open for anything the policy does not mark low."""
    chosen = frozenset(tiers)
    if not chosen <= FAIL_OPEN_TIERS:
        bad = ", ".join(sorted(chosen - FAIL_OPEN_TIERS))
        raise InvalidRequest(f"fail_open_for only accepts 'low'; refused: {bad}",
                             field="fail_open_for")
    return chosen


@dataclass(slots=True)
class _Seen:
    highest: str
    all_allow: bool
    at: float


class TierMemory:
    """The server's recent decisions per ``(workflow, kind)``; thread-safe, in memory."""

    def __init__(self, *, max_age: float = 24 * 3600,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_age = max_age
        self._clock = clock
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._lock = threading.Lock()

    def remember(self, workflow: str, kind: str, *, tier: str, mode: str) -> None:
        now = self._clock()
        with self._lock:
            seen = self._seen.get((workflow, kind))
            if seen is None or now - seen.at > self.max_age:
                self._seen[(workflow, kind)] = _Seen(tier, mode == "allow", now)
                return
            if _ORDER.get(tier, 99) > _ORDER.get(seen.highest, 99):
                seen.highest = tier
            seen.all_allow = seen.all_allow and mode == "allow"
            seen.at = now

    def fail_open_tier(self, workflow: str, kind: str, allowed: frozenset[str]) -> str | None:
        """The remembered tier if this pair may run without signoff now, else ``None``."""
        with self._lock:
            seen = self._seen.get((workflow, kind))
            if seen is None or self._clock() - seen.at > self.max_age:
                return None
            if seen.highest in allowed and seen.all_allow:
                return seen.highest
            return None


@dataclass(slots=True)
class FailOpenRecord:
    """One call that ran while signoff was unreachable; the body of ``POST /v1/fail-open``."""

    idempotency_key: str
    workflow: str
    kind: str
    target: str
    params: dict[str, Any]
    digest: str
    remembered_tier: str
    unavailable_reason: str
    started_at: str
    summary: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    impact: dict[str, Any] | None = None
    on_behalf_of: str | None = None
    parent_id: str | None = None
    chain: list[str] = field(default_factory=list)
    finished_at: str | None = None
    outcome: dict[str, str] | None = None

    def as_body(self) -> dict[str, Any]:
        return asdict(self)


class FailOpenJournal:
    """Calls waiting to be reported; with ``path``, kept as JSON lines across restarts."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._records: dict[str, FailOpenRecord] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = FailOpenRecord(**json.loads(line))
                    self._records[rec.idempotency_key] = rec

    def put(self, record: FailOpenRecord) -> None:
        with self._lock:
            self._records[record.idempotency_key] = record
            self._save()

    def pending(self) -> list[FailOpenRecord]:
        with self._lock:
            return list(self._records.values())

    def discard(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r.as_body()) + "\n" for r in self._records.values()),
                       encoding="utf-8")
        tmp.replace(self.path)
