"""Policy decisions per second, in process: signoff's CEL engine against cedarpy (Cedar).

Measures the median time of one ``CelPolicy.decide`` (context build, every rule, tier and
requirement merge) for the shipped default policy and for generated 200-rule policies, and, in
the same run, the median time of one ``cedarpy.is_authorized`` call on an equivalent Cedar
policy set (pre-parsed ``PolicySet`` and ``Entities`` handles) plus the same tier computation.
Before timing, both engines must agree on the matched rules for every sample action, so the
comparison is between equivalent policies.

    python bench/bench_policy.py [--rounds 2000] [--blocks 5] [--write docs/benchmarks-policy.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import cedarpy

from signoff.adapters.policy import (
    CelPolicy,
    default_cases_path,
    default_policy_path,
    load_cases,
    load_policy,
    policy_input,
)
from signoff.domain.policy import PolicyInput, Tier

ACTIONS: list[dict[str, Any]] = [
    {"kind": "payments.send", "target": "acct/42",
     "params": {"amount": 5000, "currency": "EUR", "memo": "invoice 2026-001 " * 8,
                "lines": [{"sku": f"s{i}", "qty": i} for i in range(10)]}},
    {"kind": "payments.send", "target": "acct/7", "params": {"amount": 120, "currency": "EUR"}},
    {"kind": "draft.email", "target": "doc/17", "params": {"body": "Hello " * 300}},
    {"kind": "deploy.release", "target": "prod/web", "params": {"version": "1.4.2"}},
    {"kind": "email.send", "target": "customer@example.org", "params": {"subject": "Hi"},
     "impact": {"reversible": False, "external": True}},
    {"kind": "secrets.read", "target": "prod/db-password", "params": {}},
    {"kind": "iam.grant", "target": "github/org/acme", "params": {"role": "org-admin"}},
    {"kind": "crm.contact.update", "target": "crm/42", "params": {"field": "phone"},
     "chain_depth": 3},
]

# The default policy, rule for rule, in Cedar (amounts are Longs: Cedar has no floats).
_DEPLOY = 'context.kind like "deploy.*" || context.kind like "release.*"'
_NONPROD = " || ".join(f'context.target == "{n}" || context.target like "{n}/*"'
                       for n in ("staging", "dev", "test"))
_PRODSECRET = ('context.target == "prod" || context.target == "production" || '
               'context.target like "prod/*" || context.target like "prod-*" || '
               'context.target like "production/*"')
_PAY = 'context.kind like "payments.*" || context.kind like "refunds.*"'
_DEL = ('context.kind like "data.delete*" || context.kind like "*.delete"'
        ' || context.kind like "*.drop" || context.kind like "*.purge"')
CEDAR_DEFAULT: list[tuple[str, str, str]] = [
    ("no-prod-secrets", "forbid", f'context.kind like "secrets.*" && ({_PRODSECRET})'),
    ("secret-access", "permit", 'context.kind like "secrets.*"'),
    ("production-release", "permit", f"({_DEPLOY}) && !({_NONPROD})"),
    ("non-production-release", "permit", f"({_DEPLOY}) && ({_NONPROD})"),
    ("privilege-change", "permit", 'context.kind like "iam.*" || context.kind like "access.*"'
                                   ' || context.kind like "permissions.*"'),
    ("admin-privilege", "permit", 'context.kind like "iam.*" && context.params has role && '
                                  '(context.params.role like "*admin*" || '
                                  'context.params.role like "*owner*")'),
    ("agent-elevation", "permit", 'context.kind == "signoff.agent.elevate"'),
    ("payments", "permit", _PAY),
    ("large-payments", "permit", f"({_PAY}) && (!(context.params has amount) || "
                                 "context.params.amount > 1000)"),
    ("customer-communications", "permit", 'context.kind like "email.*" || context.kind like '
     '"sms.*" || context.kind like "social.*" || context.kind like "support.reply*"'),
    ("data-deletion", "permit", _DEL),
    ("production-data-deletion", "permit", f'({_DEL}) && context.target like "prod*"'),
    ("irreversible-or-external", "permit", "(context.impact has reversible && "
     "context.impact.reversible == false) || (context.impact has external && "
     "context.impact.external == true)"),
    ("long-agent-chain", "permit", "context has chain_depth && context.chain_depth > 2"),
    ("pull-requests", "permit", 'context.kind == "mcp.github.create_pull_request"'),
    ("internal-drafting", "permit", 'context.kind like "draft.*" || context.kind like '
     '"summarise.*" || context.kind like "summarize.*" || context.kind like "route.*" || '
     'context.kind like "note.*" || context.kind like "read.*"'),
]


def generated(n: int, *, guarded: bool) -> tuple[str, list[tuple[str, str, str]], dict[str, Tier]]:
    """An n-rule CEL policy (YAML) and its Cedar twin. ``guarded``: half the rules start with
    an ``action.kind`` test (the common shape); otherwise no rule can be skipped."""
    tiers = list(Tier)
    yaml_rules, cedar, tier_of = [], [], {}
    for i in range(n):
        rid, tier = f"r{i:03d}", tiers[i % 4]
        if guarded and i % 2 == 0:
            cel_when = (f'action.kind == "svc{i % 40}.op{i}" && has(action.params.amount) '
                        f"&& action.params.amount > {i * 10}")
            ced = (f'context.kind == "svc{i % 40}.op{i}" && context.params has amount '
                   f"&& context.params.amount > {i * 10}")
        elif i % 3 == 0:
            cel_when = f'action.target.startsWith("res{i}/") && action.impact.external'
            ced = f'context.target like "res{i}/*" && context.impact.external'
        elif i % 3 == 1:
            cel_when = f"has(action.params.flag{i}) && action.params.flag{i} == true"
            ced = f"context.params has flag{i} && context.params.flag{i} == true"
        else:
            cel_when = f'action.chain_depth > {i % 7} && action.target.contains("{i}")'
            ced = f'context.chain_depth > {i % 7} && context.target like "*{i}*"'
        yaml_rules.append(f"  - id: {rid}\n    when: '{cel_when}'\n    tier: {tier.value}\n")
        cedar.append((rid, "permit", ced))
        tier_of[rid] = tier
    text = "version: 1\ndefault_tier: high\nrules:\n" + "".join(yaml_rules)
    return text, cedar, tier_of


class CedarEngine:
    """Cedar as a tier classifier: matched permits give tiers, a matched forbid denies."""

    def __init__(self, rules: list[tuple[str, str, str]], tier_of: dict[str, Tier],
                 trim: CelPolicy | None = None) -> None:
        text = "\n".join(f"{effect}(principal, action, resource) when {{ {cond} }};"
                         for _, effect, cond in rules)
        self.policies = cedarpy.PolicySet.from_str(text)
        self.entities = cedarpy.Entities.from_json_str("[]")
        self.ids = {f"policy{i}": rid for i, (rid, _, _) in enumerate(rules)}
        self.tier_of = tier_of
        # With ``trim``, Cedar gets only the action fields the rules read, the same projection
        # the CEL engine builds for itself: otherwise Cedar alone pays for converting a 2 KB
        # body nobody reads, and the comparison would flatter CEL.
        self.trim = trim

    def decide(self, subject: PolicyInput) -> tuple[str, tuple[str, ...]]:
        context = self.trim.variables(subject).get("action", {}) if self.trim else subject.action
        request = {"principal": 'Agent::"a"', "action": 'Action::"propose"',
                   "resource": 'Workflow::"w"', "context": context}
        result = cedarpy.is_authorized(request, self.policies, self.entities)
        matched = tuple(sorted(self.ids[r] for r in result.diagnostics.reasons))
        if result.decision == cedarpy.Decision.Deny and matched:
            return "deny", matched
        tiers = [self.tier_of[r] for r in matched]
        return (max(tiers, key=lambda t: t.rank).value if tiers else "high"), matched


def median_us(fn: Callable[[PolicyInput], Any], subjects: list[PolicyInput], rounds: int) -> float:
    for s in subjects:  # warm up
        fn(s)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for s in subjects:
            t0 = clock()
            fn(s)
            samples.append(clock() - t0)
    return statistics.median(samples) / 1000


def check_equivalent(name: str, cel: CelPolicy, cedar: CedarEngine,
                     subjects: list[PolicyInput]) -> None:
    for s in subjects:
        a = tuple(sorted(cel.decide(s).matched_rules))
        _, b = cedar.decide(s)
        if cel.decide(s).mode.value == "deny":  # Cedar lists only the forbids on a deny
            a = tuple(r for r in a if r in b)
        if a != b:
            sys.exit(f"{name}: engines disagree on {s.action['kind']}: CEL {a} vs Cedar {b}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--write", type=Path, help="also write the results as Markdown here")
    args = ap.parse_args()
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    subjects = [policy_input({"action": a, "now": now}) for a in ACTIONS]
    gen_subjects = subjects + [policy_input({"action": {
        "kind": f"svc{i % 40}.op{i}", "target": f"res{i}/x", "chain_depth": 3,
        "params": {"amount": 10_000, f"flag{i + 1}": True},
        "impact": {"external": True, "reversible": True}}, "now": now}) for i in (0, 36, 120)]

    default = load_policy(default_policy_path())
    default_tiers = {r.spec.id: r.spec.tier or Tier.CRITICAL for r in default._rules}
    # Equivalence is checked on more than the timed samples: every case of the shipped cases
    # file (but those with fractional amounts: Cedar has no floats) and, for the generated
    # policies, one action aimed at every fifth rule.
    shipped = [c.input for c in load_cases(default_cases_path())
               if not any(isinstance(v, float) for v in c.input.action["params"].values())]
    probes = [policy_input({"action": {
        "kind": f"svc{i % 40}.op{i}", "target": f"res{i}/x{i}", "chain_depth": 6,
        "params": {"amount": i * 10 + 1, f"flag{i}": True},
        "impact": {"external": True, "reversible": True}}, "now": now}) for i in range(0, 200, 5)]
    cases = [("default policy (16 rules)", default, CedarEngine(CEDAR_DEFAULT, default_tiers),
              CedarEngine(CEDAR_DEFAULT, default_tiers, trim=default), subjects,
              subjects + shipped)]
    for guarded, label in ((True, "200 rules, half kind-guarded"),
                           (False, "200 rules, none kind-guarded")):
        text, cedar_rules, tier_of = generated(200, guarded=guarded)
        policy = CelPolicy.from_text(text)
        cases.append((label, policy, CedarEngine(cedar_rules, tier_of),
                      CedarEngine(cedar_rules, tier_of, trim=policy), gen_subjects,
                      gen_subjects + probes))

    # Blocks alternate the engines, so machine noise (this is a shared 2-core box) hits them
    # alike; we report the median and the best of the block medians.
    rows = []
    for label, cel_policy, cedar, cedar_trim, subs, checked in cases:
        check_equivalent(label, cel_policy, cedar, checked)
        check_equivalent(label + " (trimmed context)", cel_policy, cedar_trim, checked)
        cel_blocks, cedar_blocks, trim_blocks = [], [], []
        cedar_rounds = max(args.rounds // args.blocks // 4, 25)
        for _ in range(args.blocks):
            cel_blocks.append(median_us(cel_policy.decide, subs, args.rounds // args.blocks))
            cedar_blocks.append(median_us(cedar.decide, subs, cedar_rounds))
            trim_blocks.append(median_us(cedar_trim.decide, subs, cedar_rounds))
        cel_us, cedar_us = statistics.median(cel_blocks), statistics.median(cedar_blocks)
        trim_us = statistics.median(trim_blocks)
        rows.append((label, cel_us, min(cel_blocks), 1e6 / cel_us, cedar_us, min(cedar_blocks),
                     trim_us, min(cedar_us, trim_us) / cel_us))

    head = ("| policy | CEL median µs | CEL best block µs | CEL decisions/s | "
            "cedarpy median µs | cedarpy best block µs | cedarpy, trimmed context, median µs "
            "| faster cedarpy / CEL |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head] + [f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:,.0f} | {r[4]:.1f} | "
                      f"{r[5]:.1f} | {r[6]:.1f} | {r[7]:.1f}× |" for r in rows]
    table = "\n".join(lines)
    print(table)
    if args.write:
        cmd = "python bench/bench_policy.py " + " ".join(sys.argv[1:])
        env = (f"Python {platform.python_version()}, {platform.machine()}, "
               f"{platform.processor() or platform.platform()}; cedarpy "
               f"{metadata.version('cedarpy')}, common-expression-language "
               f"{metadata.version('common-expression-language')}; {os.cpu_count()} CPUs, load "
               f"average at the end {os.getloadavg()[0]:.1f} (a shared machine: other work "
               "running in parallel inflates every figure, both engines alike)")
        args.write.write_text(_markdown(cmd, env, table, args.rounds))


def _markdown(cmd: str, env: str, table: str, rounds: int) -> str:
    return f"""# Policy engine benchmark

Command (from the repository root, in the project's virtualenv):

    {cmd}

Environment: {env}.

{rounds} rounds over the sample actions (payments large and small, drafting with a 2 KB body, a
production release, an external email, a production secret, an admin grant, a long agent chain;
the 200-rule runs add three actions that match generated rules), in blocks that alternate the
two engines; the table gives the median and the best of the block medians.

{table}

What is measured: one in-process ``CelPolicy.decide`` per sample, i.e. building the CEL context
(only the fields the policy reads), running the compiled rules, and computing the tier and the
merged requirements; and one ``cedarpy.is_authorized`` per sample on the equivalent Cedar
policy set (pre-parsed handles) plus the same tier lookup, once with the whole action as the
Cedar context and once with the context trimmed to the fields the rules read (the projection
the CEL engine uses; the last column compares CEL with the faster of the two). Before timing,
the bench checks that both engines match exactly the same rules on every sample, on every case
of the shipped cases file without fractional amounts (Cedar has no floats) and, for the
generated policies, on one action aimed at every fifth rule. The CEL engine memoises the
tier and requirement merge by the set of matched rules; Cedar computes no requirements.

Targets (issue 3): median ≤ 60 µs for the default policy, ≤ 400 µs for 200 rules, and faster
than cedarpy on the equivalent policy.

Why it is fast: rules are compiled once per load; the CEL context is built once per decision
and holds only the paths the rules read (converting a nested dict into CEL costs ~2 µs per
entry, running a compiled rule ~1.5 µs); rules whose top-level condition is a literal test on
``action.kind`` are skipped in Python when that test is false; decisions without rule errors are
memoised by the set of matched rules.
"""


if __name__ == "__main__":
    main()
