"""Helpers for the console's HTTP tests: sign in through the form, read CSRF tokens, propose."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from signoff.adapters.db import tables as t
from signoff.domain.actions import ActionRequest, Impact
from signoff.services import actions
from tests.conftest import World

PASSWORD = "a long enough password"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/console/login").text)
    return client.post("/console/login", data={"csrf": token, "email": email,
                                               "password": password, "next": "/console/inbox"},
                       follow_redirects=False)


def propose(world: World, **over: Any) -> str:
    """An action by the world's agent; irreversible and external (so: high) unless told."""
    request = ActionRequest(workflow="prod-deploys", kind=over.pop("kind", "deploy.release"),
                            target=over.pop("target", "prod/api"),
                            params=over.pop("params", {"version": "1.2.3"}),
                            summary=over.pop("summary", "Release 1.2.3"),
                            impact=over.pop("impact", Impact(reversible=False, external=True)),
                            **over)
    return actions.submit_action(world.ctx, world.agent, request)[0].id


def audit_head(world: World) -> int:
    """The newest audit sequence number: every state change writes an event."""
    with world.app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(t.audit_events.c.seq))).scalar() or 0)


def propose_after_review(world: World, **over: Any) -> str:
    """A low action (it runs at once) picked for the post-action review sample (2 %, so the
    test picks it itself)."""
    action_id = propose(world, kind="draft.note", target="wiki/notes",
                        impact=Impact(reversible=True, external=False), **over)
    with world.app.engine.begin() as conn:
        conn.execute(t.actions.update().where(t.actions.c.id == action_id)
                     .values(post_review=True))
    return action_id
