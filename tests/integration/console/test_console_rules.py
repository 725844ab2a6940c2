"""What the pages promise matches what the server does: the effect of an approval, who sees
which post-action review, live inbox updates, SLA figures and the auditors' names."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from signoff.domain.actions import ActionRequest, Impact, InputRef
from signoff.domain.identities import Principal, PrincipalKind
from signoff.services import actions, identities, queries, reviews, sweeper
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import (
    PASSWORD,
    csrf_of,
    propose,
    propose_after_review,
    sign_in,
)


def test_the_person_an_action_is_for_is_offered_reject_only(client: TestClient,
                                                            world: World,
                                                            clock: FakeClock) -> None:
    action_id = propose(world, on_behalf_of="rita@example.com")
    sign_in(client, "rita@example.com")
    page = client.get(f"/console/actions/{action_id}").text
    assert "done on your behalf, so you may not approve it" in page
    assert 'id="approve"' not in page and 'id="reject"' in page
    clock.advance(20)
    r = client.post(f"/console/actions/{action_id}/decide",   # the server agrees
                    data={"csrf": csrf_of(page), "verdict": "approve",
                          "rationale": "I asked for it myself"})
    assert r.status_code == 403 and "on behalf of cannot approve" in r.text


def test_the_page_says_what_an_approval_will_do(client: TestClient, world: World,
                                                clock: FakeClock) -> None:
    critical = propose(world, kind="secrets.rotate", target="vault/x")     # needs two
    sign_in(client, "rita@example.com")
    page = client.get(f"/console/actions/{critical}").text
    assert "Approving leaves the quorum short by 1; no grant yet." in page
    clock.advance(31)
    client.post(f"/console/actions/{critical}/decide",
                data={"csrf": csrf_of(page), "verdict": "approve",
                      "rationale": "rotation is scheduled"})
    sign_in(client, "sid@example.com")
    page = client.get(f"/console/actions/{critical}").text
    assert "Approving meets the quorum: a single-use grant" in page
    assert "1</strong> of <strong>2</strong> approvals, short by <strong>1" in page


def _inbox_row(html: str, action_id: str) -> str:
    match = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*{action_id}(?:(?!</tr>).)*</tr>', html, re.S)
    assert match, action_id
    return match.group(0)


def test_the_live_inbox_changes_when_another_reviewer_approves(client: TestClient,
                                                                world: World,
                                                                clock: FakeClock) -> None:
    critical = propose(world, kind="secrets.rotate", target="vault/x")
    sign_in(client, "sid@example.com")
    before = client.get("/console/inbox/poll").json()
    assert "0 / 2" in _inbox_row(client.get("/console/inbox").text, critical)
    queries.get_action(world.ctx, world.rita, critical)     # rita opens it...
    clock.advance(31)
    reviews.review_action(world.ctx, world.rita, critical, verdict="approve",
                          rationale="rotation is scheduled")   # ...and approves
    after = client.get("/console/inbox/poll").json()
    assert after["fingerprint"] != before["fingerprint"]       # the script reloads the list
    assert after["counts"] == before["counts"]                 # though no count moved
    assert "1 / 2" in _inbox_row(client.get("/console/inbox").text, critical)


def test_post_action_reviews_are_shown_to_who_may_do_them(client: TestClient,
                                                          world: World) -> None:
    action_id = propose_after_review(world)
    nora = identities.create_user(world.ctx, ADMIN, email="nora@example.com", name="Nora",
                                  roles=["reviewer"], password=PASSWORD)
    sign_in(client, "nora@example.com")          # in no pool of this workflow
    assert 'id="count-post">0<' in client.get("/console/inbox").text
    page = client.get("/console/post-review").text
    assert action_id not in page and "Nothing to review" in page
    r = client.post(f"/console/actions/{action_id}/post-review",
                    data={"csrf": csrf_of(page), "verdict": "ok"})
    assert r.status_code == 403                  # the server's rule is the same
    sign_in(client, "rita@example.com")          # the workflow's backup
    assert 'id="count-post">1<' in client.get("/console/inbox").text
    assert f'id="post-{action_id}"' in client.get("/console/post-review").text
    # The API's queue follows the same rule.
    _, token = identities.create_user_token(world.ctx, ADMIN, nora.id, name="t")
    r = client.get("/v1/reviews/post-action", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["count"] == 0
    _, token = identities.create_user_token(world.ctx, ADMIN, world.rita.id, name="t")
    r = client.get("/v1/reviews/post-action", headers={"Authorization": f"Bearer {token}"})
    assert [a["id"] for a in r.json()["items"]] == [action_id]


def test_the_dashboard_counts_sla_breaches_after_they_are_decided(client: TestClient,
                                                                  world: World,
                                                                  clock: FakeClock) -> None:
    late = propose(world)
    propose(world, target="prod/other")
    clock.advance(31 * 60)                       # past the high tier's 30 min
    sweeper.sweep(world.ctx)
    sign_in(client, "olivia@example.com")

    def row() -> list[str]:
        html = client.get("/console/dashboard").text
        match = re.search(r"<tr><td><span[^>]*>prod-deploys</span></td>(.*?)</tr>", html, re.S)
        assert match, html[-3000:]
        return re.findall(r"<td[^>]*>(\d+)</td>", match.group(1))

    # low, medium, high, critical, pending, escalated now, SLA breaches, expired
    assert row() == ["0", "0", "2", "0", "2", "2", "2", "0"]
    queries.get_action(world.ctx, world.rita, late)
    clock.advance(20)
    reviews.review_action(world.ctx, world.rita, late, verdict="reject",
                          rationale="too late to ship today")
    assert row() == ["0", "0", "1", "0", "1", "1", "2", "0"]
    clock.advance(4 * 3600)                      # the other one expires, undecided
    sweeper.sweep(world.ctx)
    assert row() == ["0", "0", "0", "0", "0", "0", "2", "1"]     # a breach counted once
    propose(world, target="prod/third")
    clock.advance(5 * 3600)                      # no sweep saw it escalate: it just expired
    sweeper.sweep(world.ctx)
    assert row() == ["0", "0", "0", "0", "0", "0", "3", "2"]
    assert "at least 10 decisions, at least 95% approvals" in client.get(
        "/console/dashboard").text


def test_auditors_see_names_and_the_full_record_link(client: TestClient,
                                                     world: World) -> None:
    action_id = propose(world)
    sign_in(client, "audrey@example.com")
    page = client.get(f"/console/actions/{action_id}").text
    assert f'href="/console/actions/{action_id}/audit"' in page
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert timeline and "deploy-bot" in timeline.group(0)
    audit = client.get(f"/console/actions/{action_id}/audit").text
    assert "deploy-bot" in audit and f"agent:{world.agent.id}" in audit
    events = client.get("/console/audit?type=auth.").text
    assert "audrey@example.com" in events and f"human:{world.auditor.id}" in events
    sign_in(client, "rita@example.com")
    assert 'id="audit-link"' not in client.get(f"/console/actions/{action_id}").text
    assert client.get(f"/console/actions/{action_id}/audit").status_code == 403


def test_every_shown_field_is_scanned_for_hidden_characters(client: TestClient,
                                                            world: World) -> None:
    agent, _ = identities.create_agent(
        world.ctx, ADMIN, name="deploy\u200b-bot-2", owner_email="ash@example.com",
        scopes={"workflows": ["prod-deploys"], "kinds": ["deploy.*"]})
    sneaky = Principal(kind=PrincipalKind.AGENT, id=agent.id, name=agent.name)
    request = ActionRequest(
        workflow="prod-deploys", kind="deploy.release", target="prod/\u202eipa",
        params={"amo\u200bunt": 5, "nested": {"to": "p\u0430ypal.com"}},
        summary="Release.", inputs=(InputRef(source="w\u2066eb", ref="r", excerpt="ok"),),
        impact=Impact(reversible=False, external=True), on_behalf_of="\u2067eve",
        chain=(world.agent.id,))
    action_id = actions.submit_action(world.ctx, sneaky, request)[0].id
    sign_in(client, "rita@example.com")
    html = client.get(f"/console/actions/{action_id}").text
    banner = re.search(r'id="hidden-warning".*?</ul>', html, re.S)
    assert banner, html[:2000]
    labels = re.findall(r"<li><code>(.*?)</code>", banner.group(0), re.S)
    text = " ".join(re.sub(r"<[^>]+>", "", lab) for lab in labels)
    for field in ("target", "params.amo⟦U+200B ZERO WIDTH SPACE⟧unt", "params.nested.to",
                  "inputs[0].source", "on_behalf_of", "agent name"):
        assert field in text, (field, text)
    for raw in ("\u200b", "\u202e", "\u2066", "\u2067"):
        assert raw not in html                    # every one of them became a marker


def test_cancel_and_the_kill_switch_are_offered_to_who_may_use_them(client: TestClient,
                                                                     world: World) -> None:
    action_id = propose(world)
    sign_in(client, "rita@example.com")          # a reviewer: neither is hers to use
    page = client.get(f"/console/actions/{action_id}").text
    assert 'id="cancel"' not in page and 'id="suspend-link"' not in page
    assert client.get(f"/console/agents/{world.agent.id}/suspend").status_code == 403
    r = client.post(f"/console/actions/{action_id}/cancel",
                    data={"csrf": csrf_of(page), "reason": "not mine to stop"})
    assert r.status_code == 403
    sign_in(client, "olivia@example.com")        # the workflow's owner
    page = client.get(f"/console/actions/{action_id}").text
    assert 'id="cancel"' in page and 'id="suspend-link"' in page
    assert 'id="confirm-suspend"' in client.get(f"/console/agents/{world.agent.id}/suspend").text
    r = client.post(f"/console/actions/{action_id}/cancel",
                    data={"csrf": csrf_of(page), "reason": "wrong release train"})
    assert "The action is cancelled." in r.text
    with world.ctx.uow(readonly=True) as uow:
        assert uow.actions.get(action_id).status.value == "cancelled"


def test_more_warnings_than_listed_are_counted_not_dropped(client: TestClient,
                                                           world: World) -> None:
    names = " ".join(f"user{n}@example.com" for n in range(25))
    action_id = propose(world, summary=f"Email {names}", params={"to": "one@example.com"})
    sign_in(client, "rita@example.com")
    html = client.get(f"/console/actions/{action_id}").text
    warning = re.search(r'id="mismatch-warning".*?</div>', html, re.S)
    assert warning and warning.group(0).count("<li>") == 20
    assert "… and 5 more disagreements" in warning.group(0)
