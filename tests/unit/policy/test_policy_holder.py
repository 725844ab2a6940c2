"""PolicyHolder: atomic reloads that keep the last good policy, and shadow decisions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from policy_helpers import subject

from signoff.adapters.policy import PolicyError, PolicyHolder
from signoff.domain.policy import Mode, Tier

BASE = "version: 1\nrules:\n  - {id: r, when: \"action.kind == 'x'\", tier: %s}\n"


def test_reload_swaps_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE % "low")
    holder = PolicyHolder.from_paths(path)
    v1 = holder.version
    assert holder.decide(subject("x")).tier == Tier.LOW
    path.write_text(BASE % "medium")
    result = holder.reload()
    assert result.ok and result.changed and result.previous_version == v1
    assert holder.decide(subject("x")).tier == Tier.MEDIUM
    path.write_text(BASE % "bogus")
    result = holder.reload()
    assert not result.ok and not result.changed and result.error is not None
    assert result.as_dict()["errors"][0].startswith(f"{path}:3:")
    assert holder.decide(subject("x")).tier == Tier.MEDIUM
    assert holder.reload().ok is False  # still broken, still serving the last good policy


def test_unchanged_reload(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE % "low")
    holder = PolicyHolder.from_paths(path)
    result = holder.reload()
    assert result.ok and not result.changed


def test_start_refuses_invalid_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE % "bogus")
    with pytest.raises(PolicyError):
        PolicyHolder.from_paths(path)


def test_shadow_decides_and_reports_differences(tmp_path: Path) -> None:
    active, shadow = tmp_path / "a.yaml", tmp_path / "s.yaml"
    active.write_text(BASE % "low")
    shadow.write_text(BASE % "critical")
    holder = PolicyHolder.from_paths(active, shadow)
    decision, outcome = holder.decide_with_shadow(subject("x"))
    assert decision.mode == Mode.ALLOW  # the shadow enforces nothing
    assert outcome is not None and outcome.differs
    assert outcome.differences["tier"] == ("low", "critical")
    assert outcome.differences["mode"] == ("allow", "require_approval")
    _, same = holder.decide_with_shadow(subject("other"))
    assert same is not None and not same.differs
    shadow.write_text(BASE % "nope")
    result = holder.reload()
    assert result.ok and result.shadow_error is not None


def test_failing_shadow_is_reported_not_raised(tmp_path: Path) -> None:
    class Broken:
        version = "broken"

        def decide(self, subject: object) -> object:
            raise RuntimeError("boom")

    path = tmp_path / "p.yaml"
    path.write_text(BASE % "low")
    holder = PolicyHolder.from_paths(path)
    holder.set_shadow(Broken())  # type: ignore[arg-type]
    decision, outcome = holder.decide_with_shadow(subject("x"))
    assert decision.tier == Tier.LOW and outcome is not None and "boom" in (outcome.error or "")


def test_decisions_during_reloads_are_consistent(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE % "low")
    holder = PolicyHolder.from_paths(path)
    seen: set[Tier] = set()
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            seen.add(holder.decide(subject("x")).tier)

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for t in threads:
        t.start()
    for tier in ("medium", "high", "low", "critical"):
        path.write_text(BASE % tier)
        assert holder.reload().ok
    stop.set()
    for t in threads:
        t.join()
    assert seen <= {Tier.LOW, Tier.MEDIUM, Tier.HIGH, Tier.CRITICAL} and Tier.LOW in seen
