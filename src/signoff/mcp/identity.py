"""Who is calling: one signoff agent per gateway client, never a shared identity.

A stdio gateway serves the agent whose token is in ``SIGNOFF_AGENT_TOKEN``; the HTTP gateway
takes each request's ``Authorization: Bearer so_agent_…`` header. Either way the token is
checked against signoff (``GET /v1/agents`` with that token returns only its own agent), and
the gateway proposes with an SDK client built from that same token.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Any

import httpx
from mcp.server.auth.provider import AccessToken

from signoff.client import AsyncClient
from signoff.client.transport import parse_answer
from signoff.errors import ProtocolError, SignoffError, Unauthenticated, Unavailable

__all__ = ["AGENT_TOKEN_ENV", "AgentIdentity", "AgentPool", "AgentTokenVerifier"]

AGENT_TOKEN_ENV = "SIGNOFF_AGENT_TOKEN"
AGENT_TOKEN_PREFIX = "so_agent_"


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    id: str
    name: str
    status: str
    workflows: tuple[str, ...]
    kinds: tuple[str, ...]

    def may_propose(self, workflow: str, kind: str) -> bool:
        """The same scope rule the server applies (its answer is still the one that counts)."""
        wf_ok = "*" in self.workflows or workflow in self.workflows
        return wf_ok and any(fnmatch.fnmatchcase(kind, p) for p in self.kinds)

    @classmethod
    def parse(cls, body: Any) -> AgentIdentity:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise Unauthenticated("not an agent token")
        item = items[0]
        raw = item.get("scopes")
        scopes: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            return cls(id=str(item["id"]), name=str(item.get("name", "")),
                       status=str(item.get("status", "active")),
                       workflows=tuple(str(w) for w in scopes.get("workflows", [])),
                       kinds=tuple(str(k) for k in scopes.get("kinds", [])))
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"agent record unreadable: {exc}") from None


@dataclass(slots=True)
class _Entry:
    client: AsyncClient
    identity: AgentIdentity | None = None
    checked_at: float = 0.0


class AgentPool:
    """One SDK client per agent token, and each agent's identity (cached a short while)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, cache_seconds: float = 30.0,
                 max_agents: int = 1000) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.max_agents = max_agents
        self._entries: dict[str, _Entry] = {}
        self._retired: list[AsyncClient] = []  # evicted clients: closed (outcomes flushed) later
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    def client(self, token: str) -> AsyncClient:
        entry = self._entries.get(token)
        if entry is None:
            if len(self._entries) >= self.max_agents:
                oldest = min(self._entries, key=lambda t: self._entries[t].checked_at)
                self._retired.append(self._entries.pop(oldest).client)
            entry = _Entry(AsyncClient(self.base_url, token, timeout=self.timeout))
            self._entries[token] = entry
        return entry.client

    async def identify(self, token: str) -> AgentIdentity:
        """The agent behind ``token``; raises ``Unauthenticated`` for anything else."""
        if not token.startswith(AGENT_TOKEN_PREFIX):
            raise Unauthenticated("an agent token (so_agent_…) is required")
        entry = self._entries.get(token)
        now = time.monotonic()
        if entry is not None and entry.identity is not None \
                and now - entry.checked_at < self.cache_seconds:
            return entry.identity
        try:
            response = await self._http.get("/v1/agents",
                                            headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach signoff at {self.base_url}: {exc}") from exc
        identity = AgentIdentity.parse(parse_answer(response))
        if identity.status != "active":
            raise Unauthenticated(f"agent {identity.name or identity.id} is {identity.status}")
        self.client(token)
        self._entries[token].identity, self._entries[token].checked_at = identity, now
        return identity

    async def aclose(self) -> None:
        """Close every client; each first sends the outcomes still queued on it."""
        clients = [entry.client for entry in self._entries.values()] + self._retired
        self._entries.clear()
        self._retired.clear()
        for client in clients:
            await client.aclose()
        await self._http.aclose()


class AgentTokenVerifier:
    """``mcp``'s ``TokenVerifier`` for the HTTP transport: a valid agent token or 401."""

    def __init__(self, pool: AgentPool) -> None:
        self.pool = pool

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            identity = await self.pool.identify(token)
        except Unauthenticated:
            return None
        except SignoffError:
            return None  # signoff unreachable or confused: fail closed
        return AccessToken(token=token, client_id=identity.id, scopes=[], subject=identity.id)
