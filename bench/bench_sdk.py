"""SDK figures against a real signoff server (issue 6, "Figures").

1. Allowed-call overhead: the same function called N times plain and N times through a gate
   the policy allows (propose with ``redeem: true``, verify the grant offline, run; the
   outcome is reported by the client's background sender, so its write still competes with
   the next call's proposal on the server); the figure is (gated - plain) per call, median
   and p99.
2. Approval-to-resume latency: gated calls wait for a human; the bench sends each approve
   request and measures until that gated function starts running.

By default it starts its own server (SQLite in a temp dir, given a bench policy through
``SIGNOFF_POLICY``; the shipped default policy makes the bench wait ``min_review_seconds``
once). ``--url`` with ``--admin-token`` uses a running server instead. ``--postgres URL`` adds a
row on PostgreSQL with two server processes on one port (``serve --workers 2``). Run::

    python bench/bench_sdk.py --calls 300 --approvals 50 --out docs/benchmarks-sdk.md \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signoff.client import Client, compute_digest, current_action

POLICY = """\
version: 1
default_tier: high
tiers:
  low:      {mode: allow, post_review_sample: 0.0}
  medium:   {mode: allow_and_review}
  high:     {mode: require_approval, approvals: 1, min_review_seconds: 0,
             rationale_required: true, escalate_after: 30m, expires_in: 4h, grant_ttl: 5m}
  critical: {mode: require_approval, approvals: 2, min_review_seconds: 0,
             rationale_required: true, escalate_after: 15m, expires_in: 1h, grant_ttl: 2m}
rules:
  - id: bench-low
    when: action.kind.startsWith("draft.")
    tier: low
  - id: bench-high
    when: action.kind.startsWith("payments.")
    tier: high
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def start_server(root: Path, db_url: str | None = None, workers: int = 1
                 ) -> tuple[subprocess.Popen[bytes], str, str]:
    (root / "policy.yaml").write_text(POLICY)
    env = {**os.environ, "SIGNOFF_DATA_DIR": str(root / "data"),
           "SIGNOFF_POLICY": str(root / "policy.yaml")}
    if db_url:
        env["SIGNOFF_DATABASE_URL"] = db_url
    cli = [sys.executable, "-m", "signoff.cli.main"]
    init = subprocess.run([*cli, "init"], env=env, capture_output=True, text=True, check=True,
                          cwd=root)
    admin = next(x.strip() for x in init.stdout.splitlines() if x.strip().startswith("so_user_"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)],
                            env={**env, "SIGNOFF_PUBLIC_URL": url}, cwd=root,
                            stdout=(root / "server.log").open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, admin
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"server did not come up; see {root / 'server.log'}")


def provision(url: str, admin: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as http:
        def post(path: str, body: dict[str, Any]) -> Any:
            response = http.post(path, json=body)
            response.raise_for_status()
            return response.json()

        reviewer = post("/v1/users", {"email": f"rev-{tag}@example.com", "name": "Reviewer",
                                      "roles": ["reviewer", "owner"]})
        rev_token = post(f"/v1/users/{reviewer['id']}/tokens", {"name": "bench"})["token"]
        post("/v1/users", {"email": f"own-{tag}@example.com", "name": "Owner",
                           "roles": ["owner"]})
        post("/v1/workflows", {"name": f"bench-{tag}", "owner": f"rev-{tag}@example.com"})
        agent = post("/v1/agents", {"name": f"bench-{tag}", "owner": f"own-{tag}@example.com",
                                    "scopes": {"workflows": ["*"], "kinds": ["*"]}})
    return {"workflow": f"bench-{tag}", "agent": agent["token"], "reviewer": rev_token}


def bench_allowed(client: Client, workflow: str, calls: int) -> dict[str, float]:
    def work(n: int) -> int:
        return n * 2

    gated = client.gate(workflow=workflow, kind="draft.bench", target="doc")(work)
    for i in range(10):  # warm up connections, the JWKS cache and the server
        gated(i)
    plain, gate = [], []
    for i in range(calls):
        t = time.perf_counter()
        work(i)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        gated(i)
        gate.append(time.perf_counter() - t)
    overhead = [(g - p) * 1000 for g, p in zip(gate, plain, strict=True)]
    return {"median_ms": statistics.median(overhead), "p99_ms": percentile(overhead, 0.99)}


def bench_intrinsic(calls: int) -> dict[str, float]:
    """The SDK's own cost: the same allowed flow against an in-process transport that answers
    at once with a real Ed25519-signed grant, so no network or server time is included."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
                      "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}]}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/jwks.json":
            return httpx.Response(200, json=jwks)
        if path == "/v1/grants/redeem":
            return httpx.Response(200, json={"action_id": "act_1", "jti": "j",
                                             "status": "executing", "redeemed_at": None})
        body = json.loads(request.content)
        if path == "/v1/outcomes":  # the background sender's batches
            return httpx.Response(200, json={"results": [
                {"action_id": o["action_id"], "status": o["status"]} for o in body["outcomes"]]})
        if path.endswith("/outcome"):
            return httpx.Response(200, json={**record, "status": body["status"]})
        digest = compute_digest(body["workflow"], body["kind"], body["target"], body["params"])
        now = int(time.time())
        token = jwt.encode({"iss": "signoff", "sub": "act_1", "aud": body["workflow"],
                            "jti": "j", "iat": now, "exp": now + 60, "dig": digest,
                            "knd": body["kind"], "tgt": body["target"]}, key,
                           algorithm="EdDSA", headers={"kid": "k1"})
        spent = bool(body.get("redeem"))
        record.update(digest=digest, params=body["params"],
                      status="executing" if spent else "allowed",
                      grant={"jti": "j", "state": "redeemed" if spent else "issued",
                             "token": token})
        return httpx.Response(201, json=record)

    record: dict[str, Any] = {"id": "act_1", "status": "allowed", "tier": "low", "mode": "allow",
                              "workflow": "w", "kind": "draft.x", "target": "t", "reasons": []}
    # The transport signs each grant; time spent signing is server work, so subtract it.
    with Client("http://sdk.local", "t", transport=httpx.MockTransport(handler)) as client:
        gated = client.gate(workflow="w", kind="draft.x", target="t")(lambda n: n)
        for i in range(20):
            gated(i)
        samples = []
        for i in range(calls):
            t = time.perf_counter()
            gated(i)
            samples.append((time.perf_counter() - t) * 1000)
        signing = []
        for _ in range(calls):
            t = time.perf_counter()
            jwt.encode({"a": 1}, key, algorithm="EdDSA")
            signing.append((time.perf_counter() - t) * 1000)
    cost = [x - statistics.median(signing) for x in samples]
    return {"median_ms": statistics.median(cost), "p99_ms": percentile(cost, 0.99)}


def bench_breakdown(client: Client, workflow: str, calls: int) -> dict[str, float]:
    """Median milliseconds of each step of an allowed call, to show where the time goes."""
    steps: dict[str, list[float]] = {
        k: [] for k in ("propose+redeem", "verify", "outcome (off the caller's path)")}
    for i in range(calls):
        params = {"i": i}
        t = time.perf_counter()
        record = client.propose(workflow, "draft.bench", "doc", params, redeem=True)
        steps["propose+redeem"].append(time.perf_counter() - t)
        assert record.status == "executing"
        assert record.grant is not None and record.grant.token is not None
        digest = compute_digest(workflow, "draft.bench", "doc", params)
        t = time.perf_counter()
        client.verifier.verify(record.grant.token, digest, workflow=workflow)
        steps["verify"].append(time.perf_counter() - t)
        t = time.perf_counter()
        client.send_outcome(record.id, "succeeded", "bench")  # what the gate's sender sends
        steps["outcome (off the caller's path)"].append(time.perf_counter() - t)
    return {k: statistics.median(v) * 1000 for k, v in steps.items()}


def bench_approval(client: Client, url: str, ids: dict[str, str], rounds: int) -> dict[str, float]:
    """``rounds`` gated calls wait at once; a reviewer opens each, then approves one by one.

    Opening every action before the first approval means the policy's ``min_review_seconds``
    is waited once, not once per approval, while every other call keeps its long-poll open.
    """
    resumed: dict[str, float] = {}
    events: dict[str, threading.Event] = {}
    lock = threading.Lock()

    @client.gate(workflow=ids["workflow"], kind="payments.bench", target="cus")
    def pay(n: int) -> None:
        action = current_action()
        assert action is not None
        with lock:
            resumed[action.id] = time.perf_counter()
            events.setdefault(action.id, threading.Event()).set()

    workers = [threading.Thread(target=pay, args=(i,)) for i in range(rounds)]
    for worker in workers:
        worker.start()
    headers = {"Authorization": f"Bearer {ids['reviewer']}"}
    latencies: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as rev:
        pending: list[str] = []
        while len(pending) < rounds:
            body = rev.get("/v1/actions", params={"status": "pending", "limit": 500,
                                                  "workflow": ids["workflow"]}).json()
            pending = [item["id"] for item in body["items"]]
            time.sleep(0.05)
        dwell = 0.0
        for action_id in pending:  # open the detail first, as a reviewer must (R15)
            record = rev.get(f"/v1/actions/{action_id}").json()
            dwell = max(dwell, float(record["requirements"].get("min_review_seconds", 0)))
        time.sleep(dwell + 0.5)
        for action_id in pending:
            with lock:
                event = events.setdefault(action_id, threading.Event())
            t0 = time.perf_counter()
            rev.post(f"/v1/actions/{action_id}/reviews",
                     json={"verdict": "approve", "rationale": "bench approval"}).raise_for_status()
            if not event.wait(30):
                raise SystemExit(f"{action_id} did not resume within 30 s")
            latencies.append((resumed[action_id] - t0) * 1000)
    for worker in workers:
        worker.join()
    return {"p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99)}


def run_one(args: argparse.Namespace, label: str, db_url: str | None, workers: int
            ) -> tuple[str, dict[str, float]]:
    proc, schema_url = None, None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url, admin = args.url, args.admin_token
        else:
            if db_url:
                os.environ["SIGNOFF_TEST_POSTGRES_URL"] = db_url
                sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
                from tests.conftest import fresh_pg_schema
                schema_url = fresh_pg_schema()
            proc, url, admin = start_server(Path(tmp), schema_url, workers)
        try:
            ids = provision(url, admin)
            with Client(url, ids["agent"]) as client:
                allowed = bench_allowed(client, ids["workflow"], args.calls)
                steps = bench_breakdown(client, ids["workflow"], max(20, args.calls // 5))
                approval = bench_approval(client, url, ids, args.approvals)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(40)
            if schema_url:
                from tests.conftest import drop_pg_schema
                drop_pg_schema(schema_url)
    row = (f"| {label} | {allowed['median_ms']:.2f} | {allowed['p99_ms']:.2f} | "
           f"{approval['p50_ms']:.1f} | {approval['p99_ms']:.1f} | {args.calls} / "
           f"{args.approvals} |")
    return row, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--approvals", type=int, default=50)
    parser.add_argument("--url")
    parser.add_argument("--admin-token")
    parser.add_argument("--label", default="SQLite, one server process")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--postgres", help="also run on this PostgreSQL (SQLAlchemy URL, a "
                        "fresh schema) with two server processes (`serve --workers 2`)")
    args = parser.parse_args()
    configs: list[tuple[str, str | None, int]] = [(args.label, None, 1)]
    if args.postgres:
        configs.append(("PostgreSQL, two server processes (`serve --workers 2`)", args.postgres,
                        2))
    rows, parts = [], []
    for label, db_url, workers in configs:
        row, measured = run_one(args, label, db_url, workers)
        rows.append(row)
        parts.append(label.split(",")[0] + ": " +
                     ", ".join(f"{k} {v:.2f} ms" for k, v in measured.items()))
    report = "\n".join(rows)
    intrinsic = bench_intrinsic(args.calls)
    breakdown = "; ".join(parts)
    breakdown += (f"; the SDK's own work per allowed call, without network or server: "
                  f"median {intrinsic['median_ms']:.2f} ms, p99 {intrinsic['p99_ms']:.2f} ms")
    print(report)
    print("breakdown (median):", breakdown)
    if args.out:
        write_report(args.out, report, breakdown, sys.argv[1:])


def write_report(path: Path, row: str, breakdown: str, argv: list[str]) -> None:
    header = (
        "# SDK benchmarks\n\n"
        "Produced by `bench/bench_sdk.py` against a real `signoff serve` subprocess.\n\n"
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs.\n\n"
        "| setup | allowed overhead median (ms) | allowed overhead p99 (ms) | "
        "approval-to-resume p50 (ms) | approval-to-resume p99 (ms) | calls / approvals |\n"
        "|---|---|---|---|---|---|\n"
    )
    notes = (
        f"\nWhere an allowed call's time goes (median per step): {breakdown}.\n\n"
        "Command: `python bench/bench_sdk.py " + " ".join(argv) + "`\n\n"
        "An allowed gated call makes one request before the function runs: the proposal carries\n"
        "`redeem: true`, so the server answers `executing` with the grant already spent in the\n"
        "proposal's own transaction, and the SDK verifies it offline (signature, `dig`, aud,\n"
        "exp) before running. The outcome is queued for the client's background sender\n"
        "(`flush_outcomes()`, `close()`), so the caller does not wait for it. The sender\n"
        "batches what is queued (`POST /v1/outcomes`, one transaction), but its server work\n"
        "still shares the host and the audit chain's head with the next call's proposal, and\n"
        "that is included in the overhead above; the `outcome` step is one batch of one, sent\n"
        "synchronously, for scale. Session 1's gate made three sequential requests (propose,\n"
        "redeem, outcome): median 110.57 ms, p99 234.21 ms on the same host.\n"
        "The SDK's own work (binding, JSON check, digest, offline EdDSA verification) is the\n"
        "`verify` step and the difference between the sum of steps and the total.\n"
    )
    path.write_text(header + row + "\n" + notes)


if __name__ == "__main__":
    main()
