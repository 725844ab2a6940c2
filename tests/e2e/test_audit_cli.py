"""``signoff audit …`` and ``signoff evidence`` as real processes on a real data directory."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signoff.bootstrap import build
from signoff.config import load_settings
from signoff.domain.actions import ActionRequest
from signoff.services.actions import submit_action
from tests.conftest import cli, make_world, prepare

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'signoff.db'}"
    prepare(data, url)
    app = build(load_settings(data_dir=data, database_url=url))
    try:
        world = make_world(app)
        for i in range(5):
            submit_action(app.ctx, world.agent, ActionRequest(
                workflow="prod-deploys", kind="draft.note", target=f"doc/{i}", params={}))
    finally:
        app.close()
    yield data


def run(data: Path, *args: str, check: bool = True) -> Any:
    return cli(*args, "--data-dir", str(data), check=check)


def test_verify_checkpoint_witness_and_tamper(data_dir: Path, tmp_path: Path) -> None:
    witness = tmp_path / "witness.jsonl"
    env_run = cli("audit", "checkpoint", "--data-dir", str(data_dir),
                  env={"SIGNOFF_AUDIT_WITNESS_FILE": str(witness)})
    assert "checkpoint seq" in env_run.stdout and witness.exists()
    ok = run(data_dir, "audit", "verify", "--witness", str(witness))
    assert ok.returncode == 0 and "OK" in ok.stdout
    with sqlite3.connect(data_dir / "signoff.db") as db:
        db.execute("UPDATE audit_events SET body = replace(body, 'doc/2', 'doc/7')")
    bad = run(data_dir, "audit", "verify", "--json", check=False)
    report = json.loads(bad.stdout)
    assert bad.returncode == 1 and report["first_bad"]["kind"] == "changed"
    missing = run(data_dir, "audit", "verify", "--witness", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "cannot read witness file" in missing.stderr


def test_show_export_evidence_archive(data_dir: Path, tmp_path: Path) -> None:
    events = [json.loads(line) for line in run(data_dir, "audit", "export").stdout.splitlines()]
    assert events and events[0]["seq"] == 1
    resumed = run(data_dir, "audit", "export", "--after", "3").stdout.splitlines()
    assert json.loads(resumed[0])["seq"] == 4
    action_id = next(e["action_id"] for e in events if e["type"] == "action.submitted")
    story = run(data_dir, "audit", "show", action_id).stdout
    assert "proposed by deploy-bot" in story and "timeline:" in story
    unknown = run(data_dir, "audit", "show", "act_missing", check=False)
    assert unknown.returncode == 1 and "no action act_missing" in unknown.stderr
    report = tmp_path / "evidence.html"
    run(data_dir, "evidence", "--since", "2000-01-01", "--output", str(report))
    assert "<svg" in report.read_text() and "GV.RR-02" in report.read_text()
    md = run(data_dir, "evidence", "--since", "2000-01-01", "--format", "md").stdout
    assert md.startswith("# Evidence report")
    bad_range = run(data_dir, "evidence", "--since", "soon", check=False)
    assert bad_range.returncode == 1 and "ISO 8601" in bad_range.stderr
    archive = tmp_path / "old.jsonl"
    out = run(data_dir, "audit", "archive", "--before", "2999-01-01", "--output", str(archive))
    assert "archived seq 1.." in out.stdout
    verified = run(data_dir, "audit", "verify", "--archive", str(archive))
    assert verified.returncode == 0 and "anchored=True" in verified.stdout


def test_server_checkpoints_in_the_background(data_dir: Path, tmp_path: Path) -> None:
    import time

    import httpx

    from tests.conftest import start_server

    witness = tmp_path / "served-witness.jsonl"
    server = start_server(data_dir, env={"SIGNOFF_AUDIT_CHECKPOINT_SECONDS": "0.2",
                                         "SIGNOFF_AUDIT_WITNESS_FILE": str(witness)})
    try:
        deadline = time.monotonic() + 20
        audit: dict[str, Any] = {}
        while time.monotonic() < deadline:
            audit = httpx.get(server.url + "/healthz", timeout=5).json()["audit"]
            if audit["latest_checkpoint"]:
                break
            time.sleep(0.2)
        assert audit["unsealed"] == 0
        assert audit["latest_checkpoint"]["seq"] == audit["seq"]
    finally:
        server.stop()
    assert json.loads(witness.read_text().splitlines()[0])["seq"] == audit["seq"]
    assert run(data_dir, "audit", "verify", "--witness", str(witness)).returncode == 0
