"""One allowed gated call's server work, in process, step by step (issue 6's PostgreSQL gap).

Each round authenticates the agent's token (the full look-up, and the proposal path's cached
one, in alternate rounds), submits an allowed proposal redeemed in the same transaction, and
reports its outcome, on a fresh SQLite file and, with ``--postgres``, a fresh PostgreSQL schema.
It prints the median wall time of each step and the process CPU per round: no HTTP, no client,
so the database work and the service code are what is measured.

    python bench/bench_inprocess.py [--rounds 300] [--postgres postgresql+psycopg://…/test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.conftest's workspace

from signoff.bootstrap import build  # noqa: E402
from signoff.config import load_settings  # noqa: E402
from signoff.domain.actions import ActionRequest, Impact  # noqa: E402
from signoff.services.actions import submit_action  # noqa: E402
from signoff.services.outcomes import report_outcome  # noqa: E402
from signoff.services.tokens import authenticate, authenticate_for_proposal  # noqa: E402


def run(url: str, rounds: int) -> str:
    from tests.conftest import make_world, prepare

    data = Path(tempfile.mkdtemp()) / "data"
    prepare(data, url)
    app = build(load_settings(data_dir=data, database_url=url))
    try:
        world = make_world(app)
        steps: dict[str, list[float]] = {k: [] for k in (
            "authenticate (look-up)", "authenticate (proposal path, cached)", "submit_action",
            "report_outcome", "CPU per round")}
        for i in range(rounds + 20):
            cached = i % 2 == 1
            c0, t0 = time.process_time(), time.perf_counter()
            who = (authenticate_for_proposal if cached else authenticate)(app.ctx,
                                                                       world.agent_token)
            t1 = time.perf_counter()
            action, _ = submit_action(app.ctx, who, ActionRequest(
                workflow="prod-deploys", kind="draft.note", target="doc", params={"i": i},
                impact=Impact()), redeem=True)
            t2 = time.perf_counter()
            report_outcome(app.ctx, who, action.id, status="succeeded", detail="done")
            t3, c3 = time.perf_counter(), time.process_time()
            if i < 20:
                continue  # warm-up: caches, prepared statements, pool
            steps["authenticate (proposal path, cached)" if cached else
                  "authenticate (look-up)"].append(t1 - t0)
            steps["submit_action"].append(t2 - t1)
            steps["report_outcome"].append(t3 - t2)
            steps["CPU per round"].append(c3 - c0)
        return ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in steps.items())
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--postgres", help="also run on this PostgreSQL (a fresh schema)")
    args = parser.parse_args()
    print("SQLite:", run(f"sqlite:///{tempfile.mkdtemp()}/signoff.db", args.rounds))
    if args.postgres:
        os.environ["SIGNOFF_TEST_POSTGRES_URL"] = args.postgres
        from tests.conftest import drop_pg_schema, fresh_pg_schema

        url = fresh_pg_schema()
        try:
            print("PostgreSQL:", run(url, args.rounds))
        finally:
            drop_pg_schema(url)


if __name__ == "__main__":
    main()
