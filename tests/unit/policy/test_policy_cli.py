"""The ``signoff policy`` commands: exit codes and one-line errors, via CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_helpers import TIERS
from typer.testing import CliRunner

from signoff.adapters.policy import default_cases_path, default_policy_path
from signoff.cli.policy import policy_app

runner = CliRunner()
DEFAULT = str(default_policy_path())


def policy_text(rules: str) -> str:
    return TIERS.lstrip() + "rules:\n" + "".join(f"  {line}\n" for line in rules.splitlines())


def test_check_ok() -> None:
    res = runner.invoke(policy_app, ["check", DEFAULT])
    assert res.exit_code == 0 and "16 rules" in res.output and "sha256:" in res.output


def test_check_errors_one_per_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('version: 1\nrules:\n  - {id: a, when: "action.kind >", tier: high}\n'
                   '  - {id: b, when: "true", tier: huge}\n')
    res = runner.invoke(policy_app, ["check", str(bad)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{bad}:3:") and "rule a: CEL syntax error" in lines[0]
    assert lines[1].startswith(f"{bad}:4:") and "rule b: unknown tier 'huge'" in lines[1]
    assert "Traceback" not in res.output


def test_check_missing_path() -> None:
    res = runner.invoke(policy_app, ["check", "/nonexistent/policy.yaml"])
    assert res.exit_code == 1 and "cannot read policy" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_test_passes_and_fails(tmp_path: Path) -> None:
    res = runner.invoke(policy_app, ["test", DEFAULT, str(default_cases_path())])
    assert res.exit_code == 0 and "PASS" in res.output and "0 failed" in res.output
    cases = tmp_path / "cases.yaml"
    cases.write_text("version: 1\ncases:\n  - name: wrong\n    action: {kind: draft.x}\n"
                     "    expect: {mode: deny}\n")
    res = runner.invoke(policy_app, ["test", DEFAULT, str(cases)])
    assert res.exit_code == 1 and "FAIL" in res.output and "1 failed" in res.output


def test_test_bad_cases_file(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("version: 1\ncases:\n  - action: {kind: x}\n    expect: {colour: red}\n")
    res = runner.invoke(policy_app, ["test", DEFAULT, str(cases)])
    assert res.exit_code == 1 and "unknown expect key 'colour'" in res.output
    assert f"{cases}:3:" in res.output


def test_explain(tmp_path: Path) -> None:
    action = tmp_path / "a.json"
    action.write_text(json.dumps({"action": {"kind": "payments.send", "target": "acct/1",
                                             "params": {"amount": 5000}}}))
    res = runner.invoke(policy_app, ["explain", DEFAULT, "--action", str(action)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "critical" in out and "large-payments" in out and "require_approval" in out
    assert "[owner, backup, reviewers]" in out
    assert 'action.kind.startsWith("secrets.") is false' in out


def test_explain_bad_json(tmp_path: Path) -> None:
    action = tmp_path / "a.json"
    action.write_text("{nope")
    res = runner.invoke(policy_app, ["explain", DEFAULT, "--action", str(action)])
    assert res.exit_code == 1 and "invalid JSON" in res.output and "Traceback" not in res.output


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    dest = tmp_path / "pol"
    res = runner.invoke(policy_app, ["init", str(dest)])
    assert res.exit_code == 0
    assert (dest / "policy.yaml").read_bytes() == default_policy_path().read_bytes()
    assert (dest / "policy_cases.yaml").exists()
    (dest / "policy.yaml").write_text("# mine\n")
    res = runner.invoke(policy_app, ["init", str(dest)])
    assert res.exit_code == 1 and "already exists" in res.output
    assert (dest / "policy.yaml").read_text() == "# mine\n"
    res = runner.invoke(policy_app, ["init", str(dest), "--force"])
    assert res.exit_code == 0 and (dest / "policy.yaml").read_text() != "# mine\n"
    res = runner.invoke(policy_app, ["test", str(dest), str(dest / "policy_cases.yaml")])
    assert res.exit_code == 0, res.output


def test_a_typo_in_an_expectation_is_a_cases_file_error(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("version: 1\ncases:\n  - name: typo\n    action: {kind: draft.x}\n"
                     "    expect: {mode: alow}\n")
    res = runner.invoke(policy_app, ["test", DEFAULT, str(cases)])
    assert res.exit_code == 1 and "FAIL" not in res.output
    assert f"{cases}:3:" in res.output and "'alow' is not a mode" in res.output


def test_explain_takes_an_action_as_posted_with_its_chain(tmp_path: Path) -> None:
    # The body an agent POSTs has `chain`, not `chain_depth`: the depth is derived from it.
    action = tmp_path / "a.json"
    action.write_text(json.dumps({"workflow": "w", "kind": "draft.email", "target": "doc/1",
                                  "chain": ["agt_a", "agt_b", "agt_c"]}))
    res = runner.invoke(policy_app, ["explain", DEFAULT, "--action", str(action)])
    assert res.exit_code == 0, res.output
    assert "long-agent-chain" in res.output.split("Rules")[0] and "high" in res.output


def test_check_and_explain_without_a_path_use_the_policy_the_server_enforces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no signoff.toml here
    monkeypatch.delenv("SIGNOFF_POLICY", raising=False)
    action = tmp_path / "a.json"
    action.write_text(json.dumps({"kind": "widgets.frobnicate", "target": "w/1"}))
    res = runner.invoke(policy_app, ["check"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"OK: shipped default ({DEFAULT}): 16 rules")
    res = runner.invoke(policy_app, ["explain", "--action", str(action)])
    assert res.exit_code == 0, res.output
    assert "shipped default" in res.output and "require_approval" in res.output
    own = tmp_path / "own.yaml"
    own.write_text(policy_text('- {id: widgets-low, when: \'action.kind.startsWith("widgets.")\','
                               ' tier: low}\n'))
    monkeypatch.setenv("SIGNOFF_POLICY", str(own))
    res = runner.invoke(policy_app, ["check"])
    assert res.exit_code == 0 and res.output.startswith(f"OK: {own}: 1 rules"), res.output
    res = runner.invoke(policy_app, ["explain", "--action", str(action)])
    assert res.exit_code == 0, res.output
    assert "widgets-low" in res.output.split("Rules")[0] and "shipped default" not in res.output
