"""``gate``: run a function only with a signed grant for its exact arguments (R11).

One ``Gate`` describes one kind of action (workflow, kind, how to name the target, what to
show the reviewer). It is used either as a decorator::

    @client.gate(workflow="refunds", kind="payments.send",
                 target=lambda customer, amount: customer,
                 summary=lambda customer, amount: f"Refund {amount} EUR to {customer}",
                 impact={"reversible": False, "external": True})
    def refund(customer: str, amount: int) -> str: ...

or as a context manager around a block, with the params spelled out::

    with gate.call(customer="cus_42", amount=120) as ticket:
        ticket.result = do_refund()

Sync functions and ``with`` use the sync client, ``async def`` functions and ``async with``
the async one (the client builds its twin when needed). Arguments are bound with
``inspect.signature`` and checked as JSON before any network call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from signoff.client import flow
from signoff.client.base import proposal_body
from signoff.client.failopen import check_fail_open_tiers
from signoff.client.handoff import running
from signoff.client.payload import compute_digest
from signoff.errors import InvalidRequest

if TYPE_CHECKING:
    from signoff.client.aio import AsyncClient
    from signoff.client.sync import Client

__all__ = ["Gate", "GateCall", "Prepared"]

F = TypeVar("F", bound=Callable[..., Any])
Dynamic = Any  # a value, or a callable of the call's params that computes it


@dataclass(frozen=True, slots=True)
class Prepared:
    """One call, bound and checked: the proposal body and its locally computed digest.

    ``own_key`` is true while the idempotency key in ``body`` was generated for this call only
    (``keyed`` in the adapters sets a caller-chosen one): see ``Client._submit``.
    """

    body: dict[str, Any]
    digest: str
    own_key: bool = True

    @property
    def target(self) -> str:
        return str(self.body["target"])

    def propose_kwargs(self) -> dict[str, Any]:
        b = self.body
        return {"workflow": b["workflow"], "kind": b["kind"], "target": b["target"],
                "params": b["params"], "summary": b["summary"], "inputs": b["inputs"],
                "impact": b.get("impact"), "on_behalf_of": b["on_behalf_of"],
                "parent_id": b["parent_id"], "chain": b["chain"],
                "idempotency_key": b["idempotency_key"]}


@functools.lru_cache(maxsize=1024)
def _cached_signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """``inspect.signature``, once per callable: working it out is ~30 µs of every gated call
    for the function and each target/summary helper."""
    try:
        return _cached_signature(fn)
    except TypeError:  # unhashable (a bound method of an unhashable object): not cached
        return inspect.signature(fn)


def _call_with(fn: Callable[..., Any], params: Mapping[str, Any]) -> Any:
    """Call a target/summary helper with the params it names (all of them if it has **kw)."""
    sig = _signature(fn)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return fn(**params)
    return fn(**{k: v for k, v in params.items() if k in sig.parameters})


def _resolve(value: Dynamic, params: Mapping[str, Any]) -> Any:
    return _call_with(value, params) if callable(value) else value


class Gate:
    """A reusable gate for one ``(workflow, kind)``; build it with ``client.gate(...)``.

    ``target`` and ``summary`` (and ``impact``, ``inputs``) may be values or callables that
    receive the call's params by name. ``timeout`` bounds the wait for a human (``None``: until
    signoff decides or expires it); on timeout the action is cancelled and ``Cancelled`` raised.
    ``fail_open_for=("low",)`` lets calls the policy last classified ``low`` run while signoff
    is unreachable, audited later (see ``signoff.client.failopen``).
    """

    def __init__(
        self, client: Client | AsyncClient, *, workflow: str, kind: str,
        target: Dynamic = None, summary: Dynamic = "", impact: Dynamic = None,
        inputs: Dynamic = None, on_behalf_of: str | None = None,
        fail_open_for: Iterable[str] = (), timeout: float | None = None,
        result_summary: Callable[[Any], str] | None = None,
        exclude: Iterable[str] = ("self", "cls"),
    ) -> None:
        if not workflow or not kind:
            raise InvalidRequest("a gate needs a workflow and a kind", field="kind")
        self.client = client
        self.workflow = workflow
        self.kind = kind
        self.target = target
        self.summary = summary
        self.impact = impact
        self.inputs = inputs
        self.on_behalf_of = on_behalf_of
        self.fail_open_for = check_fail_open_tiers(fail_open_for)
        self.timeout = timeout
        self.result_summary = result_summary
        self.exclude = frozenset(exclude)

    # -- preparing a call ---------------------------------------------------------------------
    def prepare(self, params: Mapping[str, Any], *, default_target: str | None = None) -> Prepared:
        """Compute target, summary and digest; raises ``InvalidRequest`` before any I/O."""
        target = _resolve(self.target, params) if self.target is not None else default_target
        if not isinstance(target, str) or not target:
            raise InvalidRequest("the gate's target must be (or compute) a non-empty string",
                                 field="target")
        body = proposal_body(
            self.workflow, self.kind, target, params, summary=str(_resolve(self.summary, params)),
            inputs=_resolve(self.inputs, params), impact=_resolve(self.impact, params),
            on_behalf_of=self.on_behalf_of, parent_id=None, chain=None, idempotency_key=None)
        digest = compute_digest(self.workflow, self.kind, target, body["params"])
        return Prepared(body=body, digest=digest)

    def bind(self, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> dict[str, Any]:
        """The real arguments as a params dict (defaults applied, ``**kwargs`` flattened)."""
        bound = _signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        params: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            param = bound.signature.parameters[name]
            if name in self.exclude:
                continue
            if param.kind is param.VAR_KEYWORD:
                params.update(value)
            else:
                params[name] = list(value) if param.kind is param.VAR_POSITIONAL else value
        return params

    def summarise_result(self, result: Any) -> str:
        if self.result_summary is not None:
            return str(self.result_summary(result))[:500]
        text = repr(result)
        return text if len(text) <= 200 else text[:197] + "..."

    # -- decorator ----------------------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        default_target = getattr(fn, "__qualname__", None)
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                prepared = self.prepare(self.bind(fn, args, kwargs),
                                        default_target=default_target)
                async with GateCall(self, prepared) as ticket:
                    ticket.result = await fn(*args, **kwargs)
                return ticket.result

            return awrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prepared = self.prepare(self.bind(fn, args, kwargs), default_target=default_target)
            with GateCall(self, prepared) as ticket:
                ticket.result = fn(*args, **kwargs)
            return ticket.result

        return wrapper  # type: ignore[return-value]

    # -- context manager ----------------------------------------------------------------------
    def call(self, **params: Any) -> GateCall:
        """``with gate.call(**params) as ticket:`` runs the block only with a redeemed grant."""
        return GateCall(self, self.prepare(params))


class GateCall:
    """One gated call as a (sync or async) context manager yielding a ``flow.Ticket``."""

    def __init__(self, gate: Gate, prepared: Prepared) -> None:
        self.gate = gate
        self.prepared = prepared
        self._ticket: flow.Ticket | None = None
        self._running: Any = None

    def _enter(self, ticket: flow.Ticket) -> flow.Ticket:
        self._ticket = ticket
        if ticket.record is not None:
            self._running = running(ticket.record)
            self._running.__enter__()
        return ticket

    def _leave(self) -> flow.Ticket:
        if self._running is not None:
            self._running.__exit__(None, None, None)
        assert self._ticket is not None
        return self._ticket

    def _once(self) -> None:
        # The idempotency key is this object's: a second entry after the first one got its
        # grant would find the same (already spent) action and run the function again.
        if self._ticket is not None:
            raise InvalidRequest("a gated call runs once; build a new one with gate.call()",
                                 field="idempotency_key")

    def __enter__(self) -> flow.Ticket:
        self._once()
        client = self.gate.client.sync_twin()
        return self._enter(flow.acquire(client, self.gate, self.prepared))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        ticket = self._leave()
        flow.finish(self.gate.client.sync_twin(), self.gate, ticket, exc)

    async def __aenter__(self) -> flow.Ticket:
        self._once()
        client = self.gate.client.async_twin()
        return self._enter(await flow.aacquire(client, self.gate, self.prepared))

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        ticket = self._leave()
        await flow.afinish(self.gate.client.async_twin(), self.gate, ticket, exc)
