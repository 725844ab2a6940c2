"""Console figures (issue 5): inbox and action page response times on a large SQLite history.

    python bench/bench_console.py [--history 100000] [--pending 1000] [--requests 200]
                                  [--out docs/benchmarks-console.md]

Builds a SQLite database with ``--history`` decided actions (with reviews, outcomes and audit
events) and ``--pending`` actions waiting for one reviewer, bulk-inserted with SQLAlchemy Core
(cloned from one action submitted through the real use case, so the decision columns are
genuine). Then it signs the reviewer in and times, in process through the whole ASGI app
(routing, session lookup, the same service functions, Jinja rendering):

  - ``GET /console/inbox`` (the 1,000 pending, sorted by urgency, the 50 most urgent
    rendered, with the counters and the notifications badge);
  - ``GET /console/actions/{id}`` opened for the first time (records ``review.viewed``: a write);
  - ``GET /console/actions/{id}`` opened again (read only).

Timing is wall-clock per request on the same machine as everything else (2 cores, shared), so
the figures are a ceiling for a quiet server. The server runs with its production settings,
the audit hash chain included (the first open of an action seals a ``review.viewed`` event);
the bulk-inserted history is not chained, which nothing on these pages reads.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from signoff.adapters.db import tables as t  # noqa: E402
from signoff.api.app import create_app  # noqa: E402
from signoff.bootstrap import build  # noqa: E402
from signoff.config import load_settings  # noqa: E402
from signoff.domain.actions import ActionRequest, Impact, InputRef  # noqa: E402
from signoff.services import actions, identities  # noqa: E402
from tests.conftest import ADMIN, make_world, prepare  # noqa: E402

PASSWORD = "bench password 1"
STATUSES = ["succeeded", "succeeded", "succeeded", "failed", "rejected", "expired",
            "cancelled", "denied", "lapsed", "allowed"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def seed(app: Any, *, history: int, pending: int) -> tuple[str, list[str]]:
    world = make_world(app)
    identities.update_user(app.ctx, ADMIN, world.rita.id, password=PASSWORD)
    template, _ = actions.submit_action(app.ctx, world.agent, ActionRequest(
        workflow="prod-deploys", kind="deploy.release", target="prod/api",
        params={"version": "1.0.0", "replicas": 3}, summary="Release api 1.0.0 to prod.",
        inputs=(InputRef(source="ci", ref="build-1", excerpt="all tests passed"),),
        impact=Impact(reversible=True, external=True, description="customers see it")))
    with app.engine.begin() as conn:
        base = dict(conn.execute(sa.select(t.actions).where(t.actions.c.id == template.id))
                    .one()._mapping)
        seq = conn.execute(sa.select(t.audit_head.c.seq)).scalar_one()
        now = base["created_at"]
        kinds = ["deploy.release", "deploy.rollback", "iam.grant", "email.send", "draft.note"]
        rows, reviews, outcomes, events = [], [], [], []
        pending_ids: list[str] = []
        total = history + pending
        for n in range(total):
            is_pending = n >= history
            aid = f"act_bench{n:010d}"
            created = now - timedelta(minutes=(total - n))
            status = "pending" if is_pending else STATUSES[n % len(STATUSES)]
            rows.append({**base, "id": aid, "kind": "deploy.release" if is_pending
                         else kinds[n % len(kinds)], "target": f"prod/svc-{n % 500}",
                         "params": {"version": f"1.{n % 90}.{n % 7}", "replicas": n % 9},
                         "summary": f"Release svc-{n % 500} version 1.{n % 90}.{n % 7}.",
                         "status": status, "created_at": created, "idempotency_key": None,
                         "expires_at": now + timedelta(hours=4, minutes=n % 240) if is_pending
                         else created + timedelta(hours=4),
                         "decided_at": None if is_pending else created + timedelta(minutes=3),
                         "digest": f"sha256:{n:064x}"})
            if is_pending:
                pending_ids.append(aid)
            elif status in ("succeeded", "failed", "rejected"):
                reviews.append({"id": f"rev_bench{n:010d}", "action_id": aid,
                                "reviewer_id": world.sid.id, "stage": "pre",
                                "verdict": "reject" if status == "rejected" else "approve",
                                "rationale": "looked at the diff and the CI run",
                                "first_viewed_at": created + timedelta(seconds=30),
                                "decided_at": created + timedelta(minutes=2),
                                "auth_method": "password"})
                if status != "rejected":
                    outcomes.append({"action_id": aid, "status": status, "detail": "",
                                     "reported_by": f"agent:{base['agent_id']}",
                                     "at": created + timedelta(minutes=4)})
            seq += 1
            events.append({"seq": seq, "at": created, "actor": f"agent:{base['agent_id']}",
                           "type": "action.submitted", "action_id": aid,
                           "agent_id": base["agent_id"], "workflow": "prod-deploys",
                           "body": json.dumps({"at": created.isoformat(), "data": {}}),
                           "prev_hash": "", "hash": ""})
            if len(rows) >= 5000 or n == total - 1:
                conn.execute(t.actions.insert(), rows)
                if reviews:
                    conn.execute(t.reviews.insert(), reviews)
                if outcomes:
                    conn.execute(t.outcomes.insert(), outcomes)
                conn.execute(t.audit_events.insert(), events)
                rows, reviews, outcomes, events = [], [], [], []
        conn.execute(t.audit_head.update().values(seq=seq))
        conn.execute(sa.text("ANALYZE"))
    return world.rita.name, pending_ids


def timed(client: TestClient, path: str, must: str) -> float:
    started = time.perf_counter()
    r = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == 200 and must in r.text, (path, r.status_code, r.text[:300])
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=100_000)
    ap.add_argument("--pending", type=int, default=1_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = f"sqlite:///{tmp / 'signoff.db'}"
    prepare(tmp / "data", url)
    app = build(load_settings(data_dir=tmp / "data", database_url=url, secure_cookies=False))
    started = time.perf_counter()
    email, pending = seed(app, history=args.history, pending=args.pending)
    seeded = time.perf_counter() - started
    client = TestClient(create_app(app, sweeper=False))
    with client:
        page = client.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        r = client.post("/console/login", data={"csrf": token, "email": email,
                                                "password": PASSWORD, "next": "/console/inbox"})
        assert r.status_code == 200, r.text[:300]
        for _ in range(5):   # warm up
            timed(client, "/console/inbox", "Waiting for your decision")
        inbox = [timed(client, "/console/inbox", "act_bench") for _ in range(args.requests)]
        ids = pending[-args.requests:]
        first = [timed(client, f"/console/actions/{a}", "Your decision") for a in ids]
        again = [timed(client, f"/console/actions/{a}", "Your decision") for a in ids]
    rows = [("inbox (1,000 pending, 50 shown)", inbox), ("action page, first open", first),
            ("action page, again", again)]
    lines = [f"| {name} | {statistics.median(v):.1f} | {pct(v, 95):.1f} | {pct(v, 99):.1f} | "
             f"{len(v)} |" for name, v in rows]
    report = "\n".join([
        f"History {args.history:,} actions, pending {args.pending:,} (seeded in {seeded:.1f} s),"
        " SQLite, in-process ASGI.", "",
        "| request | p50 ms | p95 ms | p99 ms | n |", "|---|---|---|---|---|", *lines])
    print(report)
    if args.out:
        args.out.write_text(args.out.read_text() + "\n" + report + "\n" if args.out.exists()
                            else report + "\n")
    app.close()


if __name__ == "__main__":
    main()
