"""Checkpoints and witnesses, archiving across the boundary, investigation and evidence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from signoff.adapters.report import render_report
from signoff.adapters.witness import FileWitness, read_witness_file
from signoff.errors import Forbidden, InvalidRequest, NotFound
from signoff.services import audit as audit_service
from signoff.services.audit_query import action_story, export, list_events
from signoff.services.evidence import collect
from signoff.services.stopping import suspend_agent
from signoff.services.workflows import set_workflow_owner
from tests.integration.audit.conftest import approve, deps, propose, sql, verify


def test_checkpoint_due_by_count_or_time(world: Any) -> None:
    d = deps(world)
    d.every, d.seconds = 5, 10.0
    first, _ = audit_service.checkpoint(d)
    assert first is not None  # nothing signed yet: sign what there is
    assert audit_service.checkpoint(d)[0] is None  # nothing new
    propose(world, "draft.note")
    assert audit_service.checkpoint(d)[0] is None  # neither 5 events nor 10 s
    world.app.ctx.clock.advance(11)
    second, _ = audit_service.checkpoint(d)
    assert second is not None and second["seq"] > first["seq"]


def test_witness_file_exposes_rewritten_history(chain: Any, tmp_path: Path) -> None:
    d = deps(chain)
    witness = tmp_path / "witness.jsonl"
    d.witnesses = [FileWitness(witness)]
    record, failures = audit_service.checkpoint(d, force=True)
    assert record is not None and not failures
    held = read_witness_file(witness)
    assert held[0]["seq"] == record["seq"] and verify(chain, witness=held)["ok"]
    # the database holder truncates the chain, rewrites the head and drops the checkpoints
    sql(chain, "DELETE FROM audit_checkpoints")
    sql(chain, "DELETE FROM audit_events WHERE seq > 10")
    sql(chain, "UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_events WHERE "
               "seq = 10)")
    assert verify(chain)["ok"]  # without a witness the cut is undetectable…
    bad = verify(chain, witness=held)["first_bad"]  # …with one it is named
    assert bad["kind"] == "truncated" and bad["seq"] == 11


def test_unreadable_witness_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="cannot read witness file"):
        read_witness_file(tmp_path / "missing.jsonl")
    (tmp_path / "w.jsonl").write_text("{nope\n")
    with pytest.raises(InvalidRequest, match="line 1 is not JSON"):
        read_witness_file(tmp_path / "w.jsonl")


def test_archive_keeps_the_rest_verifiable(chain: Any, tmp_path: Path) -> None:
    d = deps(chain)
    audit_service.checkpoint(d, force=True)
    cut = chain.app.ctx.clock.now() + timedelta(seconds=1)
    chain.app.ctx.clock.advance(5)
    propose(chain, "draft.note", target="doc/after")
    out = tmp_path / "archive.jsonl"
    anchor = audit_service.archive(d, _admin(), before=cut, output=out)
    assert anchor["count"] > 10 and out.exists()
    report = verify(chain)
    assert report["ok"], report
    assert report["anchor"]["seq"] == anchor["seq"]
    assert audit_service.verify_archive(d, chain.auditor, out)["ok"]
    # a tampered archive is caught
    lines = out.read_text().splitlines()
    lines[2] = lines[2].replace("system", "sysadm")
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    bad = audit_service.verify_archive(d, chain.auditor, tmp_path / "bad.jsonl")
    assert not bad["ok"] and bad["first_bad"]["seq"] == 3
    with pytest.raises(InvalidRequest, match="no events before"):
        audit_service.archive(d, _admin(), before=cut, output=tmp_path / "again.jsonl")


def _admin() -> Any:
    from tests.conftest import ADMIN
    return ADMIN


def test_only_auditors_and_admins(chain: Any) -> None:
    with pytest.raises(Forbidden):
        verify_as(chain, chain.agent)
    with pytest.raises(Forbidden):
        list_events(deps(chain), chain.rita)


def verify_as(world: Any, who: Any) -> Any:
    return audit_service.verify(deps(world), who)


def test_list_filters_and_cursor(chain: Any) -> None:
    d = deps(chain)
    page = list_events(d, chain.auditor, limit=5)
    assert len(page["items"]) == 5 and page["next"] == page["items"][-1]["seq"]
    rest = list_events(d, chain.auditor, after=page["next"], limit=5000)
    assert rest["next"] is None and rest["items"][0]["seq"] == page["next"] + 1
    mine = list_events(d, chain.auditor, agent_id=chain.agent.id, types=["action."])
    assert mine["items"] and all(e["type"].startswith("action.") for e in mine["items"])
    by_rita = list_events(d, chain.auditor, actor=chain.rita.actor)
    assert {e["type"] for e in by_rita["items"]} >= {"review.viewed", "review.recorded"}
    now = chain.app.ctx.clock.now()
    assert list_events(d, chain.auditor, since=now + timedelta(days=1))["items"] == []
    with pytest.raises(InvalidRequest, match="since must be before until"):
        list_events(d, chain.auditor, since=now, until=now - timedelta(days=1))


def test_show_tells_the_whole_story(world: Any) -> None:
    action = propose(world, "deploy.release", summary="Ship it <b>now</b>")
    approve(world, action.id, world.rita)
    story = action_story(deps(world), world.auditor, action.id)
    kinds = [s["type"] for s in story["events"]]
    assert kinds.index("action.submitted") < kinds.index("review.viewed") < \
        kinds.index("review.recorded")
    assert story["action"]["summary"] == "Ship it <b>now</b>"
    assert story["reviews"][0]["reviewer"] == "rita@example.com"
    assert story["grant"] is not None
    with pytest.raises(NotFound, match="no action act_nope"):
        action_story(deps(world), world.auditor, "act_nope")


def test_export_is_resumable_and_ends_with_checkpoints(chain: Any) -> None:
    d = deps(chain)
    audit_service.checkpoint(d, force=True)
    items = list(export(d, chain.auditor))
    events = [i for i in items if i["kind"] == "event"]
    assert items[-1]["kind"] == "checkpoint" and events[0]["seq"] == 1
    resumed = [i for i in export(d, chain.auditor, after=10) if i["kind"] == "event"]
    assert resumed == events[10:]


def test_evidence_report(world: Any) -> None:
    start = world.app.ctx.clock.now() - timedelta(hours=1)
    action = propose(world, "deploy.release", target="<script>alert(1)</script>")
    approve(world, action.id, world.rita)
    propose(world, "draft.note")
    set_workflow_owner(world.ctx, _admin(), "prod-deploys", owner_email="rita@example.com")
    suspend_agent(world.ctx, _admin(), world.agent.id, reason="incident 42")
    audit_service.checkpoint(deps(world), force=True)
    data = collect(deps(world), world.auditor, since=start,
                   until=world.app.ctx.clock.now() + timedelta(seconds=1))
    assert data["chain"]["ok"] and data["high"][0]["approvers"] == ["rita@example.com"]
    assert data["workflows"][0]["changes"][0]["to"] == "rita@example.com"
    assert data["suspensions"][0]["reason"] == "incident 42"
    assert data["unapproved"] and data["counts"]["total"] == 2
    html = render_report(data, "html")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "tamper-evident" in html and "tamper-proof" not in html
    assert "ASI01" in html and "GV.RR-02" in html
    md = render_report(data, "md")
    assert "| EU AI Act | Art. 12 |" in md and "supports" in md
    no_evidence = [c for c in data["controls"] if c["evidence"] == "no evidence"]
    assert any(c["id"] == "ASI07" for c in no_evidence)  # no handoffs in this period
    json.dumps(data, default=str)


def test_concurrent_checkpointers_never_clash(chain: Any, tmp_path: Path) -> None:
    """Several processes' checkpointers (separate engines) racing: no error, one per seq."""
    from concurrent.futures import ThreadPoolExecutor

    from signoff.adapters.db.audit_store import audit_deps
    from signoff.bootstrap import build
    from signoff.config import load_settings

    apps = [build(load_settings(data_dir=chain.app.settings.data_dir,
                                database_url=chain.app.settings.resolved_database_url),
                  clock=chain.app.ctx.clock) for _ in range(3)]
    try:
        all_deps = [audit_deps(a.ctx, a.settings) for a in apps]

        def race(i: int) -> Any:
            if i % 4 == 0:
                propose(chain, "draft.note", target=f"doc/race/{i}")
            return audit_service.checkpoint(all_deps[i % 3], force=True)[0]

        with ThreadPoolExecutor(6) as pool:
            made = [r for r in pool.map(race, range(24)) if r is not None]
    finally:
        for a in apps:
            a.close()
    seqs = [r["seq"] for r in made]
    assert made and len(seqs) == len(set(seqs))
    assert verify(chain)["ok"]
