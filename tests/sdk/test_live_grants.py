"""Grants, idempotency and handoffs against the real server and its real keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from conftest import Live

from signoff.client import Client, compute_digest, verify_grant
from signoff.errors import AlreadyRedeemed, GrantRefused

Agent = Callable[..., Client]

pytestmark = pytest.mark.e2e


def allowed(live: Live, client: Client, **params: object) -> tuple[str, str, str]:
    record = client.propose(live.workflow, "draft.write", "doc-1", params)
    assert record.status == "allowed" and record.grant and record.grant.token
    return record.id, record.grant.token, record.digest


def test_digest_matches_the_server(live: Live, agent: Agent) -> None:
    client = agent()
    params = {"title": "é", "n": 1.5, "tags": ["a", "b"], "nested": {"z": None, "a": True}}
    record = client.propose(live.workflow, "draft.write", "doc-1", params)
    assert record.digest == compute_digest(live.workflow, "draft.write", "doc-1", params)


def test_executor_verifies_offline_and_redeems_once(live: Live, agent: Agent) -> None:
    client = agent()
    action_id, token, digest = allowed(live, client, title="x")
    claims = verify_grant(token, workflow=live.workflow, kind="draft.write", target="doc-1",
                          params={"title": "x"}, server_url=live.url, redeem=True,
                          api_token=live.agent_token)
    assert claims.action_id == action_id and claims.digest == digest
    with pytest.raises(AlreadyRedeemed):
        client.redeem(token, digest)


def test_tampered_grant_is_refused_offline_and_by_the_server(live: Live, agent: Agent) -> None:
    client = agent()
    _, token, digest = allowed(live, client, title="small")
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["dig"] = compute_digest(live.workflow, "draft.write", "doc-1", {"title": "BIG"})
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{head}.{forged_body}.{sig}"
    with pytest.raises(GrantRefused):
        verify_grant(forged, claims["dig"], workflow=live.workflow, server_url=live.url)
    with pytest.raises(GrantRefused):  # the real grant, for other arguments
        verify_grant(token, workflow=live.workflow, kind="draft.write", target="doc-1",
                     params={"title": "BIG"}, server_url=live.url)
    with pytest.raises(GrantRefused):
        client.redeem(forged, claims["dig"])
    client.redeem(token, digest)  # the genuine one is still good, once


def test_same_idempotency_key_returns_the_first_action(live: Live, agent: Agent) -> None:
    client = agent()
    first = client.propose(live.workflow, "draft.write", "doc-2", {"a": 1}, idempotency_key="k-1")
    again = client.propose(live.workflow, "draft.write", "doc-2", {"a": 1}, idempotency_key="k-1")
    other = client.propose(live.workflow, "draft.write", "doc-2", {"a": 1})
    assert first.id == again.id != other.id


def test_check_says_what_the_policy_would_do(live: Live, agent: Agent) -> None:
    client = agent()
    allowed = client.check(live.workflow, "draft.write", "doc-3", {"a": 1})
    assert allowed.mode == "allow" and not allowed.denied and allowed.policy_version
    assert client.check(live.workflow, "secrets.read", "").mode in ("require_approval", "deny")
    outside = client.check("no-such-workflow", "draft.write")
    assert outside.denied and outside.reasons


def test_handoff_chain_is_recorded(live: Live, agent: Agent) -> None:
    parent_client = agent()
    parent = parent_client.propose(live.workflow, "draft.write", "plan", {"step": 1})
    _, sub_token = live.new_agent("sub-agent")
    sub = agent(sub_token)
    with sub.handoff(parent):
        child = sub.propose(live.workflow, "draft.write", "plan", {"step": 2})
    assert child.parent_id == parent.id
    assert child.chain[: len(parent.chain) + 1] == (*parent.chain, live.agent_id)
