"""The outbox is written with the event that causes it, on both databases: a notification
exists exactly when its event committed, and it names the right people."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa

from signoff.adapters.db.tables_notify import notification_outbox as o
from signoff.domain.actions import Impact
from signoff.services import identities, reviews, sweeper
from signoff.testing import FakeClock
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import propose_after_review
from tests.integration.notify.helpers import events, outbox, propose


def test_a_flag_writes_one_notification_for_the_owner(world: World) -> None:
    flagged = propose_after_review(world)
    fine = propose_after_review(world, params={"n": 2})
    reviews.post_review(world.ctx, world.rita, fine, verdict="ok", note="")
    assert outbox(world, event="post_review.flagged") == []           # an ok tells nobody
    reviews.post_review(world.ctx, world.rita, flagged, verdict="flag", note="wrong branch")
    rows = outbox(world, event="post_review.flagged")
    assert [(r.action_id, r.recipient_id, r.state) for r in rows] == \
        [(flagged, world.owner.id, "pending")]
    assert rows[0].data == {"note": "wrong branch", "by": world.rita.id}
    assert len(events(world, "post_review.flagged")) == 1


def test_the_flag_and_its_notification_commit_together_or_not_at_all(world: World) -> None:
    action_id = propose_after_review(world)
    # A row that the flag's own notification collides with: the whole unit must roll back.
    now = datetime.now(UTC)
    with world.app.engine.begin() as conn:
        conn.execute(o.insert().values(
            id="ntf_squatter", event="post_review.flagged", action_id=action_id,
            workflow="prod-deploys", recipient_id=world.owner.id, data={}, created_at=now,
            state="pending", attempts=0, next_attempt_at=now, channels_done=[]))
    with pytest.raises(sa.exc.IntegrityError):
        reviews.post_review(world.ctx, world.rita, action_id, verdict="flag", note="bad")
    assert events(world, "post_review.flagged") == []
    with world.ctx.uow(readonly=True) as uow:
        assert uow.actions.get(action_id).post_review_verdict is None
    assert [r.id for r in outbox(world)] == ["ntf_squatter"]


def test_an_escalation_tells_the_backups_or_else_the_owner(world: World,
                                                           clock: FakeClock) -> None:
    first = propose(world, target="prod/a")
    clock.advance(31 * 60)
    assert sweeper.sweep(world.ctx).escalated == 1
    assert [r.recipient_id for r in outbox(world, event="action.escalated")] == [world.rita.id]
    identities.update_user(world.ctx, ADMIN, world.rita.id, active=False)   # the only backup
    second = propose(world, target="prod/b")
    clock.advance(31 * 60)
    assert sweeper.sweep(world.ctx).escalated == 1
    rows = outbox(world, event="action.escalated", action_id=second)
    assert [r.recipient_id for r in rows] == [world.owner.id]
    notify = [e["data"]["notify"] for e in events(world, "action.escalated")
              if e["action_id"] == second]
    assert notify == [["olivia@example.com"]]                  # the console notice agrees
    assert first != second


def test_a_pending_action_tells_its_eligible_approvers_but_not_its_requester(
        world: World) -> None:
    action_id = propose(world, on_behalf_of="sid@example.com")
    with world.ctx.uow(readonly=True) as uow:
        action = uow.actions.get(action_id)
    pool = {p for f in action.eligible for p in f["pool"]}
    assert world.sid.id in pool and len(pool) >= 2
    rows = outbox(world, event="action.pending", action_id=action_id)
    assert sorted(r.recipient_id for r in rows) == sorted(pool - {world.sid.id})


def test_allowed_or_denied_work_and_a_switched_off_setting_write_nothing(
        world: World) -> None:
    propose(world, kind="draft.note", target="wiki/x",
            impact=Impact(reversible=True, external=False))          # low: allowed
    propose(world, kind="secrets.read", target="prod/db-password")   # denied by policy
    assert outbox(world) == []
    world.ctx.notify_pending = False
    propose(world, target="prod/quiet")
    assert outbox(world) == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_on_postgresql_the_notifications_add_no_round_trip_to_a_proposal(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Round trips are the waits psycopg makes for the server's answer: every wait outside
    pipeline mode, and the syncs that end a pipeline. A statement queued inside a pipeline is
    only sent (its wait returns once the socket takes it)."""
    trips: list[str] = []
    real = psycopg.Connection.wait

    def counting(self: psycopg.Connection, gen, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = getattr(getattr(gen, "gi_code", None), "co_name", "")
        if self._pipeline is None or name in ("_sync_gen", "_exit_gen"):
            trips.append(name)
        return real(self, gen, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "wait", counting)
    counts = {}
    for notify in (False, True, False, True):
        world.ctx.notify_pending = notify
        trips.clear()
        action_id = propose(world, target=f"prod/svc-{len(counts)}-{notify}")
        counts.setdefault(notify, []).append(len(trips))
        assert bool(outbox(world, action_id=action_id)) is notify
    assert counts[True] == counts[False], counts
