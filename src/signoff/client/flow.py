"""The steps of one gated call, in order, for the sync and the async client.

acquire: propose with ``redeem: true`` -> either ``executing`` (allowed outright: the server
spent the grant in the proposal's own transaction) -> verify the grant offline against the
locally computed digest -> run, one round trip in all; or ``pending`` -> wait -> refuse unless
approved -> verify offline -> redeem. finish: queue the outcome for the client's background
sender. Each step either hands the next one what it needs or raises; nothing here swallows an
error on the way to running the function (fail closed). The only soft spots are after the
function ran: the outcome is reported in the background (retried, then kept for ``flush()``)
instead of turning a success into an exception (which could make a caller run it again).

The two flavours are written out twice on purpose: a shared generator-based core would hide
the control flow that a security review needs to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from signoff.client.failopen import FailOpenRecord
from signoff.client.models import ActionRecord, Redemption
from signoff.client.transport import OutcomeUnknown
from signoff.client.verify import GrantClaims
from signoff.errors import (
    Cancelled,
    Denied,
    Expired,
    NotApproved,
    ProtocolError,
    Rejected,
    SignoffError,
    Unavailable,
)

if TYPE_CHECKING:
    from signoff.client.aio import AsyncClient
    from signoff.client.gate import Gate, Prepared
    from signoff.client.sync import Client

__all__ = ["Ticket", "aacquire", "acquire", "afinish", "finish"]

_REFUSALS: dict[str, type[NotApproved]] = {
    "denied": Denied, "rejected": Rejected, "expired": Expired, "lapsed": Expired,
    "cancelled": Cancelled,
}


@dataclass(slots=True)
class Ticket:
    """The right to run one call, held for the duration of the gated block.

    ``record`` and ``claims`` are ``None`` only for a fail-open run (``fail_open`` is set);
    ``redemption`` is ``None`` also when the proposal itself redeemed the grant (``executing``).
    Set ``result`` inside a ``with`` block to control the outcome summary that is reported.
    """

    prepared: Prepared
    record: ActionRecord | None = None
    claims: GrantClaims | None = None
    redemption: Redemption | None = None
    fail_open: FailOpenRecord | None = None
    result: Any = field(default=None)

    @property
    def action_id(self) -> str | None:
        return self.record.id if self.record else None


def refusal(record: ActionRecord) -> NotApproved | None:
    cls = _REFUSALS.get(record.status)
    if cls is None:
        return None
    why = "; ".join(r.message or r.rule_id for r in record.reasons)
    detail = f"action {record.id} {record.status}" + (f": {why}" if why else "")
    return cls(detail, action_id=record.id,
               reasons=[{"rule_id": r.rule_id, "message": r.message} for r in record.reasons],
               status=record.status, tier=record.tier)


def _after_wait(record: ActionRecord, gate: Gate) -> str:
    """Raise unless the record may run; returns the grant token."""
    refused = refusal(record)
    if refused is not None:
        raise refused
    if record.status == "pending":
        raise Cancelled(f"action {record.id} still pending after {gate.timeout}s; cancelled",
                        action_id=record.id, status="pending")
    if not record.runnable:
        raise ProtocolError(f"fresh action {record.id} is unexpectedly {record.status!r}")
    if record.grant is None or not record.grant.token:
        raise ProtocolError(f"action {record.id} is {record.status} but carries no grant token")
    return record.grant.token


def _fail_open(client: Client | AsyncClient, gate: Gate, prepared: Prepared,
               exc: Unavailable) -> Ticket:
    tier = client.shared.memory.fail_open_tier(gate.workflow, gate.kind, gate.fail_open_for)
    if tier is None:
        raise exc
    body = prepared.body
    rec = FailOpenRecord(
        idempotency_key=body["idempotency_key"], workflow=gate.workflow, kind=gate.kind,
        target=prepared.target, params=body["params"], digest=prepared.digest,
        remembered_tier=tier, unavailable_reason=str(exc), started_at=_now(),
        summary=body["summary"], inputs=body["inputs"], impact=body.get("impact"),
        on_behalf_of=body["on_behalf_of"], parent_id=body["parent_id"], chain=body["chain"],
    )
    client.shared.journal.put(rec)
    return Ticket(prepared=prepared, fail_open=rec)


def _outcome(exc: BaseException | None, ticket: Ticket, gate: Gate) -> tuple[str, str]:
    if exc is not None:
        return "failed", f"{type(exc).__name__}: {exc}"[:500]
    return "succeeded", gate.summarise_result(ticket.result)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _spent_grant(record: ActionRecord) -> str:
    """The token of a grant the server redeemed with the proposal (answer ``executing``)."""
    if record.grant is None or not record.grant.token or record.grant.state != "redeemed":
        raise ProtocolError(f"action {record.id} is executing but carries no redeemed grant")
    return record.grant.token


def _not_run(record: ActionRecord, exc: SignoffError) -> str:
    return f"not run: the SDK refused the grant ({type(exc).__name__}: {exc})"[:500]


def _expect(prepared: Prepared) -> dict[str, Any]:
    # The digest was computed from these very params in ``prepare`` (and they were proposed
    # as such): checking the grant against it needs no second canonicalisation.
    b = prepared.body
    return {"workflow": b["workflow"], "kind": b["kind"], "target": b["target"]}


def acquire(client: Client, gate: Gate, prepared: Prepared) -> Ticket:
    try:
        record = client._submit(prepared.body, redeem=True, fresh_key=prepared.own_key)
    except Unavailable as exc:
        if not gate.fail_open_for or isinstance(exc, OutcomeUnknown):
            raise
        return _fail_open(client, gate, prepared, exc)
    if record.status == "executing":
        # Allowed outright and already redeemed by the proposal: verify exactly as a grant
        # about to be redeemed, and run nothing if it does not match these arguments. The
        # grant is spent, so the action is closed with a failed outcome instead of left open.
        try:
            token = _spent_grant(record)
            claims = client.verifier.verify(token, prepared.digest, **_expect(prepared))
            _same_action(claims, record)
        except SignoffError as exc:
            client.report_outcome_later(record.id, "failed", _not_run(record, exc))
            raise
        return Ticket(prepared=prepared, record=record, claims=claims)
    if record.status == "pending":
        record = client.wait(record.id, timeout=gate.timeout)
        if record.status == "pending":
            _cancel_quietly(client, record.id, gate)
    token = _after_wait(record, gate)
    claims = client.verifier.verify(token, prepared.digest, **_expect(prepared))
    _same_action(claims, record)
    redemption = client.redeem(token, prepared.digest)
    return Ticket(prepared=prepared, record=record, claims=claims, redemption=redemption)


def finish(client: Client, gate: Gate, ticket: Ticket, exc: BaseException | None) -> None:
    status, detail = _outcome(exc, ticket, gate)
    if ticket.fail_open is not None:
        ticket.fail_open.finished_at = _now()
        ticket.fail_open.outcome = {"status": status, "detail": detail}
        client.shared.journal.put(ticket.fail_open)
        client.flush()
        return
    assert ticket.record is not None
    client.report_outcome_later(ticket.record.id, status, detail)


def _same_action(claims: GrantClaims, record: ActionRecord) -> None:
    if claims.action_id != record.id:
        raise ProtocolError(f"grant is for action {claims.action_id}, not {record.id}")


def _gave_up(gate: Gate) -> str:
    return f"the agent stopped waiting after {gate.timeout}s"


def _cancel_quietly(client: Client, action_id: str, gate: Gate) -> None:
    try:
        client.cancel(action_id, reason=_gave_up(gate))
    except SignoffError:
        pass  # _after_wait raises Cancelled anyway; the server expires it later


async def aacquire(client: AsyncClient, gate: Gate, prepared: Prepared) -> Ticket:
    try:
        record = await client._submit(prepared.body, redeem=True, fresh_key=prepared.own_key)
    except Unavailable as exc:
        if not gate.fail_open_for or isinstance(exc, OutcomeUnknown):
            raise
        return _fail_open(client, gate, prepared, exc)
    if record.status == "executing":
        # See acquire: already redeemed by the proposal; verify offline or run nothing.
        try:
            token = _spent_grant(record)
            claims = await client.verifier.averify(token, prepared.digest, **_expect(prepared))
            _same_action(claims, record)
        except SignoffError as exc:
            client.report_outcome_later(record.id, "failed", _not_run(record, exc))
            raise
        return Ticket(prepared=prepared, record=record, claims=claims)
    if record.status == "pending":
        record = await client.wait(record.id, timeout=gate.timeout)
        if record.status == "pending":
            try:
                await client.cancel(record.id, reason=_gave_up(gate))
            except SignoffError:
                pass  # _after_wait raises Cancelled anyway; the server expires it later
    token = _after_wait(record, gate)
    claims = await client.verifier.averify(token, prepared.digest, **_expect(prepared))
    _same_action(claims, record)
    redemption = await client.redeem(token, prepared.digest)
    return Ticket(prepared=prepared, record=record, claims=claims, redemption=redemption)


async def afinish(client: AsyncClient, gate: Gate, ticket: Ticket,
                  exc: BaseException | None) -> None:
    status, detail = _outcome(exc, ticket, gate)
    if ticket.fail_open is not None:
        ticket.fail_open.finished_at = _now()
        ticket.fail_open.outcome = {"status": status, "detail": detail}
        client.shared.journal.put(ticket.fail_open)
        await client.flush()
        return
    assert ticket.record is not None
    client.report_outcome_later(ticket.record.id, status, detail)
