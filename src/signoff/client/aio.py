"""``AsyncClient``: the asyncio twin of ``Client``, same endpoints, same retry rules.

Retries follow ``signoff.client.transport``. Calls that are not idempotent (redeem, cancel,
outcome) are sent once; if the answer is lost after the request may have reached the server,
the client reads the action back and only re-sends when the server's state proves the first
request never took effect. A lost redeem answer whose grant is already spent raises
``OutcomeUnknown`` and the gated function does not run: running it could run it twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from signoff.client.base import (
    JWKS_PATH,
    OUTCOMES_PATH,
    RETURN_MINIMAL,
    OutcomeItem,
    Shared,
    batch_refusals,
    direct_request,
    outcome_batch_body,
    outcome_body,
    proposal_body,
    unverified_action_id,
    wait_slice,
)
from signoff.client.failopen import FAIL_OPEN_PATH, FailOpenJournal, TierMemory
from signoff.client.handoff import Handoff, handing_off
from signoff.client.http11 import AsyncHTTP11Transport
from signoff.client.models import ActionRecord, PolicyCheck, Redemption
from signoff.client.outcomes import AsyncOutcomeSender
from signoff.client.proposal import Impact, InputRef
from signoff.client.transport import (
    OutcomeUnknown,
    Retry,
    RetryPolicy,
    is_unsent,
    parse_answer,
    should_retry,
    transport_error,
)
from signoff.client.verify import GrantVerifier
from signoff.errors import NotFound, ProtocolError, SignoffError, Unavailable

if TYPE_CHECKING:
    from signoff.client.gate import Gate
    from signoff.client.sync import Client

__all__ = ["AsyncClient"]

log = logging.getLogger("signoff.client")


class AsyncClient:
    """``Client`` for asyncio code: nothing here blocks the event loop."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, *, timeout: float = 10.0,
        retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
        tier_memory: TierMemory | None = None,
        fail_open_journal: FailOpenJournal | str | Path | None = None,
        _shared: Shared | None = None,
    ) -> None:
        self._shared = _shared or Shared.build(
            base_url, token, timeout=timeout, retry=retry, transport=transport,
            memory=tier_memory, journal=fail_open_journal)
        s = self._shared.settings
        # Without a caller's transport, the SDK's lean HTTP/1.1 transport (see ``http11``);
        # with no proxy configured in the environment (and no event hooks set on the httpx
        # client), requests go to it directly, skipping httpx's client pipeline (auth,
        # redirects, cookies: none of which the SDK uses).
        transport = s.transport or AsyncHTTP11Transport()
        self._http = httpx.AsyncClient(base_url=s.base_url, headers=s.headers(), timeout=s.timeout,
                                       transport=transport)
        self._direct: AsyncHTTP11Transport | None = None
        if s.transport is None and not urllib.request.getproxies():
            self._direct = transport
        self._twin: Client | None = None
        self.verifier = GrantVerifier(s.base_url + JWKS_PATH, afetch=self.jwks,
                                      cache=self._shared.jwks_cache)
        self._outcomes = AsyncOutcomeSender(self)

    @property
    def base_url(self) -> str:
        return self._shared.settings.base_url

    async def aclose(self, timeout: float | None = 10.0) -> None:
        """Send the outcomes still queued (up to ``timeout`` seconds), then close this client
        and its sync twin, if one was built."""
        if not await self.flush_outcomes(timeout):
            log.warning("signoff: %d outcome(s) still queued at aclose()",
                        self._outcomes.pending())
        await self._outcomes.close(0)
        await self._http.aclose()
        if self._twin is not None:
            self._twin._http.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport ------------------------------------------------------------------------
    async def _send(self, method: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None, retry: Retry = Retry.SAFE,
              read_timeout: float | None = None, statuses: list[int] | None = None,
              headers: Mapping[str, str] | None = None) -> Any:
        policy = self._shared.settings.retry
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if read_timeout is not None:
            timeout = httpx.Timeout(self._shared.settings.timeout, read=read_timeout)
        attempt = 0
        while True:
            try:
                response = await self._request(method, path, json, params, timeout, headers)
            except httpx.TransportError as exc:
                if attempt + 1 < policy.attempts and should_retry(retry, status=None, exc=exc):
                    await asyncio.sleep(policy.delay(attempt))
                    attempt += 1
                    continue
                raise transport_error(exc, self.base_url, ambiguous=(
                    retry is Retry.UNSENT and not is_unsent(exc))) from exc
            if (response.status_code == 503 and attempt + 1 < policy.attempts
                    and should_retry(retry, status=503, exc=None)):
                await asyncio.sleep(policy.delay(attempt, response.headers.get("Retry-After")))
                attempt += 1
                continue
            if statuses is not None:
                statuses.append(response.status_code)
            return parse_answer(response)

    async def _request(self, method: str, path: str, json: Any,
                       params: Mapping[str, Any] | None, timeout: Any,
                       headers: Mapping[str, str] | None = None) -> httpx.Response:
        direct = self._direct
        hooks = self._http.event_hooks
        if direct is None or hooks["request"] or hooks["response"]:
            return await self._http.request(method, path, json=json, params=params,
                                            timeout=timeout, headers=headers)
        request = direct_request(self._http, self.base_url + path, method, json, params,
                                 timeout, headers)
        response = await direct.handle_async_request(request)
        await response.aread()
        return response

    # -- actions --------------------------------------------------------------------------
    async def propose(
        self, workflow: str, kind: str, target: str, params: Mapping[str, Any] | None = None, *,
        summary: str = "", inputs: Iterable[InputRef | Mapping[str, Any]] | None = None,
        impact: Impact | Mapping[str, Any] | None = None, on_behalf_of: str | None = None,
        parent_id: str | None = None, chain: Iterable[str] | None = None,
        idempotency_key: str | None = None, redeem: bool = False,
    ) -> ActionRecord:
        """Propose an action; retried safely because every attempt carries the same key.

        ``redeem=True`` asks the server to spend the grant of an action the policy allows
        outright in the proposal's own transaction: the answer is then ``executing`` with the
        (already redeemed) grant token, to be verified offline before running anything. See
        ``_submit`` for why a replayed answer with a caller-chosen key raises ``OutcomeUnknown``.
        """
        body = proposal_body(workflow, kind, target, params, summary=summary, inputs=inputs,
                             impact=impact, on_behalf_of=on_behalf_of, parent_id=parent_id,
                             chain=chain, idempotency_key=idempotency_key)
        return await self._submit(body, redeem=redeem, fresh_key=idempotency_key is None)

    async def _submit(self, body: dict[str, Any], *, redeem: bool, fresh_key: bool) -> ActionRecord:
        """``POST /v1/actions`` with a built body; ``fresh_key``: the key was made for this call.

        Every retry of one call carries the same key, and a replay answers the first record.
        With ``redeem=True`` that record is ``executing``: its grant was spent by the first
        request whose answer was lost. Nothing has run yet, because the function runs only
        after an answer reaches the caller, so running it once now is safe, *provided* no
        other call used the key. That holds for a key made for this call (``fresh_key``); a
        caller-chosen key (an adapter's tool-call id) may have been used by an earlier call
        that got its answer and ran, so such a replay raises ``OutcomeUnknown`` and runs
        nothing, as a lost redeem answer does.
        """
        if redeem:
            body = {**body, "redeem": True}
        statuses: list[int] = []
        record = ActionRecord.parse(await self._send("POST", "/v1/actions", json=body,
                                                  statuses=statuses))
        self._shared.remember(record)
        if (redeem and not fresh_key and statuses and statuses[-1] != 201
                and record.grant is not None and record.grant.state != "issued"):
            raise OutcomeUnknown(
                f"action {record.id} was proposed before with this idempotency key and its "
                f"grant is {record.grant.state!r}; not run, so the action cannot run twice",
                action_id=record.id)
        if self._shared.journal.pending() or self._shared.unreported:
            await self.flush()
        return record

    async def check(self, workflow: str, kind: str, target: str = "",
              params: Mapping[str, Any] | None = None, *,
              impact: Impact | Mapping[str, Any] | None = None) -> PolicyCheck:
        """What the policy would decide for this proposal now, without proposing it (a real
        proposal is decided afresh; rules may depend on target and params)."""
        body = proposal_body(workflow, kind, target or "-", params, summary="", inputs=None,
                             impact=impact, on_behalf_of=None, parent_id=None, chain=None,
                             idempotency_key=None)
        body["target"] = target  # unlike a proposal, a check may leave the target empty
        body.pop("idempotency_key", None)
        return PolicyCheck.parse(await self._send("POST", "/v1/policy/check", json=body))

    async def get(self, action_id: str) -> ActionRecord:
        return ActionRecord.parse(await self._send("GET", f"/v1/actions/{action_id}"))

    async def wait(self, action_id: str, *, timeout: float | None = None, poll: float = 30.0,
             outage_tolerance: float = 60.0) -> ActionRecord:
        """Long-poll until the action leaves ``pending`` or ``timeout`` seconds pass.

        Each request asks the server to hold for up to ``poll`` seconds, so waiting costs one
        request per ``poll``, not a busy loop. A server that answers early with ``pending``
        is met with backoff. Outages shorter than ``outage_tolerance`` are ridden out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        down_since: float | None = None
        attempt = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            slice_ = wait_slice(remaining, poll)
            started = time.monotonic()
            try:
                record = ActionRecord.parse(await self._send(
                    "GET", f"/v1/actions/{action_id}/wait", params={"timeout": round(slice_, 3)},
                    read_timeout=slice_ + self._shared.settings.timeout))
            except Unavailable:
                down_since = down_since or started
                if time.monotonic() - down_since > outage_tolerance:
                    raise
                record = None
            else:
                down_since = None
            if record is not None and record.status != "pending":
                return record
            if deadline is not None and time.monotonic() >= deadline:
                if record is None:
                    return await self.get(action_id)
                return record
            if time.monotonic() - started < slice_ / 2 or record is None:
                await asyncio.sleep(self._shared.settings.retry.delay(attempt))
                attempt += 1
            else:
                attempt = 0

    async def cancel(self, action_id: str, reason: str = "") -> ActionRecord:
        return await self._once(f"/v1/actions/{action_id}/cancel", {"reason": reason}, action_id,
                          lambda r: r.status != "pending")

    async def report_outcome(self, action_id: str, status: str, detail: str = "") -> ActionRecord:
        body = outcome_body(status, detail)
        return await self._once(f"/v1/actions/{action_id}/outcome", body, action_id,
                          lambda r: r.outcome is not None)

    async def send_outcome(self, action_id: str, status: str, detail: str = "") -> None:
        """Report an outcome without asking for the record back (the background sender's
        call: ``Prefer: return=minimal``); a lost answer is reconciled as in
        :meth:`report_outcome`."""
        body = outcome_body(status, detail)
        path = f"/v1/actions/{action_id}/outcome"
        try:
            await self._send("POST", path, json=body, retry=Retry.UNSENT,
                             headers=RETURN_MINIMAL)
        except OutcomeUnknown:
            if (await self.get(action_id)).outcome is None:
                await self._send("POST", path, json=body, retry=Retry.UNSENT,
                                 headers=RETURN_MINIMAL)

    async def _send_each(self, batch: list[OutcomeItem]) -> dict[str, str]:
        refused: dict[str, str] = {}
        for item in batch:
            try:
                await self.send_outcome(*item)
            except Unavailable:
                raise
            except SignoffError as exc:
                refused[item[0]] = str(exc)
        return refused

    async def send_outcomes(self, items: Sequence[OutcomeItem]) -> dict[str, str]:
        """Many outcomes in one request (see ``Client.send_outcomes``)."""
        batch = list(items)
        try:
            answer = await self._send("POST", OUTCOMES_PATH, json=outcome_batch_body(batch),
                                      retry=Retry.UNSENT)
        except NotFound:  # a server older than the batch endpoint: one request per report
            return await self._send_each(batch)
        except OutcomeUnknown:
            batch = [item for item in batch if (await self.get(item[0])).outcome is None]
            if not batch:
                return {}
            answer = await self._send("POST", OUTCOMES_PATH, json=outcome_batch_body(batch),
                                      retry=Retry.UNSENT)
        return batch_refusals(answer, batch)

    def report_outcome_later(self, action_id: str, status: str, detail: str = "") -> None:
        """Queue an outcome for the background task (needs a running loop); never raises a
        network error."""
        outcome_body(status, detail)  # a bad status is the caller's bug: raise it here
        self._outcomes.submit(action_id, status, detail)

    async def flush_outcomes(self, timeout: float | None = 10.0) -> bool:
        """Wait until every queued outcome (this client's and its sync twin's) was sent or
        given up on; ``False`` if ``timeout`` seconds passed first."""
        done = await self._outcomes.flush(timeout)
        if self._twin is not None and self._twin._outcomes.pending():
            done = await asyncio.to_thread(self._twin.flush_outcomes, timeout) and done
        return done

    async def _once(self, path: str, body: dict[str, Any], action_id: str,
              done: Callable[[ActionRecord], bool]) -> ActionRecord:
        try:
            return ActionRecord.parse(await self._send("POST", path, json=body, retry=Retry.UNSENT))
        except OutcomeUnknown:
            record = await self.get(action_id)
            if done(record):
                return record
            return ActionRecord.parse(await self._send("POST", path, json=body, retry=Retry.UNSENT))

    async def redeem(self, grant: str, digest: str) -> Redemption:
        """Spend a grant (single use). Never blindly re-sent: see the module docstring."""
        body = {"grant": grant, "digest": digest}
        try:
            return Redemption.parse(await self._send("POST", "/v1/grants/redeem", json=body,
                                               retry=Retry.UNSENT))
        except OutcomeUnknown as lost:
            action_id = unverified_action_id(grant)
            if action_id is None:
                raise
            try:
                state = (await self.get(action_id)).grant
            except SignoffError:
                raise lost from None
            if state is None or state.state != "issued":
                raise OutcomeUnknown(
                    f"redeem answer lost and the grant is now {getattr(state, 'state', None)!r}; "
                    "not re-sent, so the action cannot run twice", action_id=action_id) from None
            return Redemption.parse(await self._send("POST", "/v1/grants/redeem", json=body,
                                               retry=Retry.UNSENT))

    async def jwks(self) -> dict[str, Any]:
        body = await self._send("GET", JWKS_PATH)
        if not isinstance(body, dict):
            raise ProtocolError("JWKS: expected a JSON object")
        return body

    # -- fail-open audit and deferred outcomes ---------------------------------------------
    async def flush(self) -> int:
        """Send what could not be sent while signoff was away; returns how many went out."""
        sent = 0
        for action_id, body in list(self._shared.unreported.items()):
            try:
                await self.report_outcome(action_id, body["status"], body["detail"])
            except Unavailable:
                return sent
            except SignoffError as exc:  # e.g. 409: someone reported it meanwhile
                log.warning("signoff: dropping outcome of %s: %s", action_id, exc)
            self._shared.unreported.pop(action_id, None)
            sent += 1
        for rec in self._shared.journal.pending():
            try:
                await self._send("POST", FAIL_OPEN_PATH, json=rec.as_body())
            except SignoffError as exc:  # not reachable, or no fail-open endpoint yet: keep it
                log.warning("signoff: %d fail-open call(s) not audited yet: %s",
                            len(self._shared.journal.pending()), exc)
                return sent
            self._shared.journal.discard(rec.idempotency_key)
            sent += 1
        return sent

    # -- gate, handoff, twin ----------------------------------------------------------------
    def gate(self, *, workflow: str, kind: str, **options: Any) -> Gate:
        """A gate for one kind of action; see ``signoff.client.gate.Gate`` for options."""
        from signoff.client.gate import Gate

        return Gate(self, workflow=workflow, kind=kind, **options)

    @contextmanager
    def handoff(self, source: Handoff | ActionRecord | str,
                chain: Iterable[str] = ()) -> Iterator[Handoff]:
        """Proposals inside the block carry ``parent_id`` and ``chain`` from ``source``."""
        with handing_off(source, chain) as handoff:
            yield handoff

    def async_twin(self) -> AsyncClient:
        return self

    def sync_twin(self) -> Client:
        if self._twin is None:
            from signoff.client.sync import Client

            self._twin = Client(_shared=self._shared)
            self._twin._twin = self
        return self._twin

    @property
    def shared(self) -> Shared:
        return self._shared
