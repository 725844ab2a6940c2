"""Policy evaluation's share of the proposal path's CPU time (issue 3 target: < 10 %).

Runs in-process ``submit_action`` on a fresh SQLite workspace (WAL, the real unit of work, the
audit chain sealed per commit, grants signed for allowed work) twice: once with the shipped
default CEL policy and once with a baseline that replays that policy's own decisions by kind
(the same tiers, approvers and grants, so the rest of the path does the same work, but next to
no policy cost). It reports the CPU time per proposal for both, and, under cProfile, the share
of ``submit_action``'s time spent inside the policy's ``decide`` (the CEL context build, every
rule, the tier and requirement merge).

    python bench/bench_policy_share.py [--proposals 2000] [--write docs/benchmarks-policy.md]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import tempfile
import time
from pathlib import Path

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from signoff.adapters.policy import PolicyHolder, default_policy_path, load_policy
from signoff.adapters.signing import create_key
from signoff.bootstrap import Signoff, build
from signoff.config import load_settings
from signoff.domain.actions import ActionRequest, Impact
from signoff.domain.identities import Principal, PrincipalKind
from signoff.domain.policy import Decision, PolicyEvaluator, PolicyInput
from signoff.services import identities, workflows
from signoff.services.actions import submit_action

ADMIN = Principal.system("bench", roles=frozenset({"admin"}))
KINDS = [("draft.reply", "ticket/1", {"body": "Thanks, refunded. " * 20}),
         ("note.add", "ticket/2", {"text": "customer called"}),
         ("deploy.release", "svc/payments-api", {"version": "2.14.0"}),
         ("iam.grant", "github/org/acme", {"role": "maintainer"})]


def workspace(root: Path, policy: PolicyHolder) -> tuple[Signoff, Principal]:
    data = root / "data"
    data.mkdir(parents=True)
    create_key(data / "keys")
    url = f"sqlite:///{data / 'signoff.db'}"
    engine = create_engine(url, pool_size=2)
    upgrade(engine)
    engine.dispose()
    app = build(load_settings(data_dir=data, database_url=url), policy=policy)
    ctx = app.ctx
    for email, roles in (("olivia@example.com", ["owner", "reviewer"]),
                         ("rita@example.com", ["reviewer"]), ("ash@example.com", ["owner"])):
        identities.create_user(ctx, ADMIN, email=email, name=email[:4], roles=roles)
    workflows.create_workflow(ctx, ADMIN, name="ops", owner_email="olivia@example.com",
                              backups=["rita@example.com"])
    agent, _ = identities.create_agent(ctx, ADMIN, name="bot", owner_email="ash@example.com",
                                       scopes={"workflows": ["ops"],
                                               "kinds": ["draft.*", "note.*", "deploy.*",
                                                         "iam.*"]})
    return app, Principal(kind=PrincipalKind.AGENT, id=agent.id, name=agent.name)


def requests(n: int) -> list[ActionRequest]:
    return [ActionRequest(workflow="ops", kind=k, target=t, params={**p, "n": i},
                          summary=f"{k} #{i}", impact=Impact())
            for i in range(n) for k, t, p in [KINDS[i % len(KINDS)]]]


class TimedPolicy:
    """An evaluator that adds up the CPU time spent in ``decide``."""

    def __init__(self, evaluator: PolicyEvaluator) -> None:
        self.evaluator, self.spent, self.calls = evaluator, 0.0, 0

    @property
    def version(self) -> str:
        return self.evaluator.version

    def decide(self, subject: PolicyInput) -> Decision:
        start = time.thread_time()
        try:
            return self.evaluator.decide(subject)
        finally:
            self.spent += time.thread_time() - start
            self.calls += 1


class Replay:
    """The baseline: the default policy's decision for each kind, computed once and replayed
    (the bench's kinds decide by kind alone), so that only the policy's own cost differs."""

    def __init__(self, policy: PolicyEvaluator) -> None:
        self.policy = policy
        self.by_kind: dict[str, Decision] = {}

    @property
    def version(self) -> str:
        return self.policy.version

    def decide(self, subject: PolicyInput) -> Decision:
        kind = subject.action["kind"]
        if kind not in self.by_kind:
            self.by_kind[kind] = self.policy.decide(subject)
        return self.by_kind[kind]


def cpu_blocks(runs: list[tuple[Signoff, Principal, TimedPolicy]], n: int, blocks: int
               ) -> list[tuple[float, float]]:
    """Alternating blocks (so machine load hits every engine alike); per engine the median
    block's (CPU µs per proposal, CPU µs in decide per proposal)."""
    per: list[list[tuple[float, float]]] = [[] for _ in runs]
    for b in range(blocks):
        for i, (app, agent, timed) in enumerate(runs):
            reqs = requests(n // blocks)
            if b == 0:
                for r in reqs[:50]:  # warm caches (compiled statements, CEL context paths)
                    submit_action(app.ctx, agent, r)
            timed.spent, timed.calls = 0.0, 0
            start = time.thread_time()
            for r in reqs:
                submit_action(app.ctx, agent, r)
            total = time.thread_time() - start
            per[i].append((total / len(reqs) * 1e6, timed.spent / len(reqs) * 1e6))
    return [sorted(p)[len(p) // 2] for p in per]


def profiled_share(app: Signoff, agent: Principal, n: int) -> tuple[float, float, float]:
    """(share of submit_action inside decide, decide µs/call, submit µs/call) under cProfile."""
    reqs = requests(n)
    profiler = cProfile.Profile()
    profiler.enable()
    for r in reqs:
        submit_action(app.ctx, agent, r)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    submit = decide = 0.0
    for (filename, _, name), (_, _, _, cumtime, _) in stats.items():
        if name == "submit_action" and filename.endswith("services/actions.py"):
            submit += cumtime
        if name == "decide" and filename.endswith("policy/cel_engine.py"):
            decide += cumtime
    return decide / submit, decide / n * 1e6, submit / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proposals", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--write", type=Path, help="append the results to this Markdown file")
    args = ap.parse_args()
    n = args.proposals
    with tempfile.TemporaryDirectory() as tmp:
        policy = load_policy(default_policy_path())
        timed_replay = TimedPolicy(Replay(policy))
        replay_app, replay_agent = workspace(Path(tmp) / "replay", PolicyHolder(timed_replay))
        timed_cel = TimedPolicy(policy)
        cel_app, cel_agent = workspace(Path(tmp) / "cel", PolicyHolder(timed_cel))
        try:
            (replay_us, replay_decide), (cel_us, cel_decide) = cpu_blocks(
                [(replay_app, replay_agent, timed_replay), (cel_app, cel_agent, timed_cel)],
                n, args.blocks)
            share, decide_us, submit_us = profiled_share(cel_app, cel_agent, n // 2)
        finally:
            replay_app.close()
            cel_app.close()
    load = os.getloadavg()[0]
    rules = len(policy.rule_ids)
    lines = [
        "| policy | CPU µs per `submit_action` | of which in `decide` µs | `decide` share |",
        "|---|---:|---:|---:|",
        f"| baseline: the default policy's decisions replayed by kind | {replay_us:.0f} | "
        f"{replay_decide:.1f} | {replay_decide / replay_us * 100:.1f} % |",
        f"| default CEL policy ({rules} rules) | {cel_us:.0f} | {cel_decide:.1f} | "
        f"**{cel_decide / cel_us * 100:.1f} %** |",
        "",
        f"Median of {args.blocks} alternating blocks of {n // args.blocks} proposals per policy "
        "(thread CPU time). Cross-check under cProfile "
        f"({n // 2} proposals, default policy): `decide` {decide_us:.0f} µs of {submit_us:.0f} µs "
        f"per `submit_action` = {share * 100:.1f} % (the profiler inflates both).",
        "",
        f"Environment: Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average at the end {load:.1f}; SQLite (WAL) in a temp dir.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        cmd = f"python bench/bench_policy_share.py --proposals {n} --blocks {args.blocks}"
        with args.write.open("a", encoding="utf-8") as fh:
            fh.write(f"\n## Policy evaluation's share of the proposal path\n\nCommand: `{cmd}`"
                     "\n\nMix: draft.reply and note.add (low: allowed, a grant signed), "
                     "deploy.release and iam.grant (high: pending, approvers resolved); each "
                     "proposal is one transaction with its audit event sealed into the hash "
                     f"chain.\n\n{text}\n")


if __name__ == "__main__":
    main()
