"""``PolicyHolder``: the one place that knows which policy is active, swapped atomically.

The server decides with whatever policy is active *now*; a reload (SIGHUP, ``POST
/v1/policy/reload``) builds the new policy completely before swapping one reference under a lock,
so a decision never sees half a policy, and a bad file keeps the last good policy. The holder
itself implements ``PolicyEvaluator``, so services can be given the holder and never notice
reloads. An optional shadow policy decides every action too and enforces nothing: callers record
:class:`ShadowOutcome` differences to try a stricter policy on live traffic first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signoff.domain.policy import Decision, PolicyEvaluator, PolicyInput

from .cel_engine import load_policy
from .errors import PolicyError

__all__ = ["PolicyHolder", "ReloadResult", "ShadowOutcome", "decision_differences"]

Loader = Callable[[str | Path], PolicyEvaluator]


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did; on error the previous policy stays active and ``error`` says why."""

    ok: bool
    changed: bool
    version: str
    previous_version: str
    error: PolicyError | None = None
    shadow_version: str | None = None
    shadow_error: PolicyError | None = None

    def as_dict(self) -> dict[str, Any]:
        def issues(e: PolicyError | None) -> list[str] | None:
            return [i.format() for i in e.issues] if e else None
        return {"ok": self.ok, "changed": self.changed, "version": self.version,
                "previous_version": self.previous_version, "errors": issues(self.error),
                "shadow_version": self.shadow_version, "shadow_errors": issues(self.shadow_error)}


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    """The shadow policy's decision next to the enforced one."""

    active: Decision
    shadow: Decision | None
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    error: str | None = None

    @property
    def differs(self) -> bool:
        return bool(self.differences) or self.error is not None


def decision_differences(a: Decision, b: Decision) -> dict[str, tuple[Any, Any]]:
    """Field -> (active, shadow) for mode, tier, matched rules and requirements that differ."""
    out: dict[str, tuple[Any, Any]] = {}
    for name in ("mode", "tier"):
        va, vb = str(getattr(a, name)), str(getattr(b, name))
        if va != vb:
            out[name] = (va, vb)
    if set(a.matched_rules) != set(b.matched_rules):
        out["matched_rules"] = (list(a.matched_rules), list(b.matched_rules))
    ra, rb = a.requirements.as_dict(), b.requirements.as_dict()
    for key in ra:
        if ra[key] != rb[key]:
            out[f"requirements.{key}"] = (ra[key], rb[key])
    return out


class PolicyHolder:
    """Thread-safe holder of the active (and optional shadow) policy; itself a PolicyEvaluator."""

    def __init__(self, active: PolicyEvaluator, *, path: str | Path | None = None,
                 shadow: PolicyEvaluator | None = None, shadow_path: str | Path | None = None,
                 loader: Loader = load_policy) -> None:
        self._lock = threading.Lock()
        self._active = active
        self._shadow = shadow
        self._path = path
        self._shadow_path = shadow_path
        self._loader = loader

    @classmethod
    def from_paths(cls, path: str | Path, shadow_path: str | Path | None = None) -> PolicyHolder:
        """Load both policies; raises :class:`PolicyError` so the server refuses to start."""
        shadow = load_policy(shadow_path) if shadow_path else None
        return cls(load_policy(path), path=path, shadow=shadow, shadow_path=shadow_path)

    @property
    def active(self) -> PolicyEvaluator:
        return self._active

    @property
    def path(self) -> str | Path | None:
        """The file or directory a reload re-reads (None: the active policy was handed in)."""
        return self._path

    @property
    def shadow_path(self) -> str | Path | None:
        return self._shadow_path

    @property
    def shadow(self) -> PolicyEvaluator | None:
        return self._shadow

    @property
    def version(self) -> str:
        return self._active.version

    def decide(self, subject: PolicyInput) -> Decision:
        return self._active.decide(subject)

    def decide_with_shadow(self, subject: PolicyInput) -> tuple[Decision, ShadowOutcome | None]:
        """The enforced decision and, with a shadow policy, how the shadow would have decided.

        A failing shadow is reported in the outcome, never raised: it enforces nothing.
        """
        active, shadow = self._active, self._shadow
        decision = active.decide(subject)
        if shadow is None:
            return decision, None
        try:
            other = shadow.decide(subject)
        except Exception as exc:  # the shadow is advisory; its failure is data, not an outage
            return decision, ShadowOutcome(decision, None, {}, f"{type(exc).__name__}: {exc}")
        return decision, ShadowOutcome(decision, other, decision_differences(decision, other))

    def set_shadow(self, shadow: PolicyEvaluator | None, path: str | Path | None = None) -> None:
        with self._lock:
            self._shadow, self._shadow_path = shadow, path

    def reload(self) -> ReloadResult:
        """Re-read the files; keep the last good policy (active and shadow each) on error."""
        with self._lock:
            previous = self._active.version
            error = shadow_error = None
            if self._path is not None:
                try:
                    self._active = self._loader(self._path)
                except PolicyError as exc:
                    error = exc
            if self._shadow_path is not None:
                try:
                    self._shadow = self._loader(self._shadow_path)
                except PolicyError as exc:
                    shadow_error = exc
            version = self._active.version
            return ReloadResult(
                ok=error is None, changed=version != previous, version=version,
                previous_version=previous, error=error,
                shadow_version=self._shadow.version if self._shadow else None,
                shadow_error=shadow_error,
            )
