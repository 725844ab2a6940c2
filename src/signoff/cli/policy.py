"""``signoff policy ...``: check, explain, test and init policies, so they get review and CI.

Every failure is one clear line (``file:line:col: rule id: message``) and exit code 1, never a
traceback: these commands run in CI and in pre-commit hooks, where a stack trace hides the line
to fix. Mounted by ``cli/main.py`` as ``app.add_typer(policy_app, name="policy")``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signoff.adapters.policy import (
    PolicyError,
    default_cases_path,
    default_policy_path,
    load_cases,
    load_policy,
    policy_input,
    run_cases,
)
from signoff.adapters.policy.shipped import is_shipped_default
from signoff.config import load_settings
from signoff.domain.policy import Decision

__all__ = ["policy_app"]

policy_app = typer.Typer(help="Check, explain and test risk policies (SPEC section 4).",
                         no_args_is_help=True, add_completion=False)

PathArg = Annotated[Path, typer.Argument(help="A policy file or a directory of *.yaml files.")]
ActivePathArg = Annotated[Path | None, typer.Argument(
    help="A policy file or a directory of *.yaml files (default: the one `signoff serve` "
         "enforces: SIGNOFF_POLICY, else the shipped default).", show_default=False)]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True, width=120)


def _fail(lines: list[str]) -> typer.Exit:
    console = _console()
    for line in lines:
        console.print(line, markup=False)
    return typer.Exit(code=1)


def _policy_errors(exc: PolicyError) -> typer.Exit:
    return _fail([i.format() for i in exc.issues] or [str(exc)])


def _server_policy(path: Path | None) -> Path:
    """``path``, else what the server would enforce, so that an operator who set no policy can
    still ask why an action was decided the way it was."""
    if path is not None:
        return path
    configured = load_settings().policy  # a bad setting: one-line ConfigurationError
    return configured if configured is not None else default_policy_path()


def _label(path: Path) -> str:
    return f"shipped default ({path})" if is_shipped_default(path) else str(path)


@policy_app.command("check")
def check(path: ActivePathArg = None) -> None:
    """Validate a policy; prints every error as file:line:col and exits 1 if there is any."""
    path = _server_policy(path)
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        raise _policy_errors(exc) from None
    _console().print(f"OK: {_label(path)}: {len(policy.rule_ids)} rules, "
                     f"version {policy.version}", markup=False)


def _requirements_lines(decision: Decision) -> list[tuple[str, str]]:
    req = decision.requirements.as_dict()
    factors = " AND ".join(f"{f['count']} of [{', '.join(f['from'])}]" for f in req["factors"])
    return [
        ("approvals", f"{req['approvals']} ({factors})"),
        ("min_review_seconds", str(req["min_review_seconds"])),
        ("rationale_required", str(req["rationale_required"]).lower()),
        ("expires_in", f"{req['expires_in']}s"),
        ("escalate_after", "never" if req["escalate_after"] is None
         else f"{req['escalate_after']}s"),
        ("post_review_sample", str(req["post_review_sample"])),
        ("grant_ttl", f"{req['grant_ttl']}s"),
    ]


def _read_action(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail([f"{file}: cannot read: {exc.strerror or exc}"]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail([f"{file}: invalid JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise _fail([f"{file}: expected a JSON object (an action, or {{\"action\": ...}})"])
    return data


@policy_app.command("explain")
def explain(
    action: Annotated[Path, typer.Option("--action", help="JSON: an action, or "
                                         "{action, agent, workflow, requester, now}.")],
    path: ActivePathArg = None,
) -> None:
    """Show which rules match an action, the tier, mode and requirements, and why others don't."""
    path = _server_policy(path)
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        raise _policy_errors(exc) from None
    data = _read_action(action)
    try:
        subject = policy_input(data)
    except (TypeError, ValueError) as exc:
        raise _fail([f"{action}: not a usable action: {exc}"]) from None
    decision, outcomes = policy.explain(subject)
    console = _console()
    summary = Table(title=escape(f"Decision for {subject.action.get('kind')!s} on "
                                 f"{subject.action.get('target')!s}"), show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    summary.add_row("tier", decision.tier.value)
    summary.add_row("mode", decision.mode.value)
    summary.add_row("matched rules", escape(", ".join(decision.matched_rules) or "(none)"))
    for reason in decision.reasons:
        summary.add_row("reason", escape(f"{reason.rule_id}: {reason.message}"))
    for name, value in _requirements_lines(decision):
        summary.add_row(name, escape(value))
    summary.add_row("policy", escape(_label(path)))
    summary.add_row("policy version", decision.policy_version)
    console.print(summary)
    rules = Table(title="Rules")
    rules.add_column("rule")
    rules.add_column("result")
    rules.add_column("why")
    for o in outcomes:
        rules.add_row(escape(o.rule_id), o.status, escape(o.detail))
    console.print(rules)


@policy_app.command("test")
def test(
    path: PathArg,
    cases: Annotated[Path, typer.Argument(help="The test cases YAML file.")],
) -> None:
    """Run a cases file against a policy; prints a pass/fail table and exits 1 on any failure."""
    try:
        policy = load_policy(path)
        loaded = load_cases(cases)
    except PolicyError as exc:
        raise _policy_errors(exc) from None
    results = run_cases(policy, loaded)
    table = Table(title=escape(f"{cases} against {path}"))
    for col in ("", "case", "expected", "got"):
        table.add_column(col)
    for r in results:
        exp = r.case.expect
        expected = " ".join(f"{k}={exp[k]}" for k in ("mode", "tier") if k in exp)
        if "rules" in exp:
            expected += f" rules={','.join(sorted(exp['rules'] or [])) or '-'}"
        got = (f"mode={r.decision.mode.value} tier={r.decision.tier.value} "
               f"rules={','.join(sorted(r.decision.matched_rules)) or '-'}")
        if r.failures:
            got += "\n" + "; ".join(r.failures)
        table.add_row("PASS" if r.passed else "FAIL", escape(r.case.name), escape(expected),
                      escape(got))
    console = _console()
    console.print(table)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed", markup=False)
    if failed:
        raise typer.Exit(code=1)


@policy_app.command("init")
def init(
    dest: Annotated[Path, typer.Argument(help="Directory to write into.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write the default policy (policy.yaml) and its test cases (policy_cases.yaml)."""
    targets = [(default_policy_path(), dest / "policy.yaml"),
               (default_cases_path(), dest / "policy_cases.yaml")]
    existing = [str(t) for _, t in targets if t.exists()]
    if existing and not force:
        raise _fail([f"{p}: already exists; use --force to overwrite" for p in existing])
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for source, target in targets:
            target.write_bytes(source.read_bytes())
    except OSError as exc:
        raise _fail([f"{dest}: cannot write: {exc.strerror or exc}"]) from None
    console = _console()
    for _, target in targets:
        console.print(f"wrote {target}", markup=False)
    console.print(f"next: signoff policy test {targets[0][1]} {targets[1][1]}", markup=False)


from signoff.cli import policy_report as _policy_report  # noqa: E402,F401  (diff-report)
