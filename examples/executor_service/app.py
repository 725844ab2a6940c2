"""A payment executor that refuses work without a valid signoff grant.

The agent never holds the right to pay: it asks signoff, and hands the grant it got to this
service with the request. The service checks the grant offline against the exact request it
is about to execute (same workflow, kind, target and params, so the same digest), spends it
on signoff (single use), and only then pays.

Run it::

    SIGNOFF_URL=http://127.0.0.1:8000 SIGNOFF_TOKEN=so_agent_... \
        uvicorn --factory examples.executor_service.app:create_app --port 9000

and call it with ``Signoff-Grant: <token>`` and the JSON body the agent proposed as params.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from signoff.client import Client, GrantVerifier, verify_grant
from signoff.errors import AlreadyRedeemed, GrantRefused, SignoffError, Unavailable

WORKFLOW = "refunds"
KIND = "payments.send"


class Payment(BaseModel):
    customer: str
    amount: int
    currency: str = "EUR"


def create_app(
    *, server_url: str | None = None, api_token: str | None = None,
    verifier: GrantVerifier | None = None,
    redeem: Callable[[str, str], object] | None = None,
) -> FastAPI:
    """``redeem`` defaults to spending the grant on signoff with this service's token."""
    server_url = server_url or os.environ.get("SIGNOFF_URL", "http://127.0.0.1:8000")
    api_token = api_token or os.environ.get("SIGNOFF_TOKEN")
    if redeem is None:
        client = Client(server_url, api_token)
        redeem = client.redeem
    app = FastAPI(title="payment executor")
    app.state.ledger = []

    @app.post("/payments")
    def pay(payment: Payment, signoff_grant: str | None = Header(default=None)) -> dict:
        if not signoff_grant:
            raise HTTPException(401, "a signoff grant is required (Signoff-Grant header)")
        params = payment.model_dump()
        try:
            claims = verify_grant(
                signoff_grant, workflow=WORKFLOW, kind=KIND, target=payment.customer,
                params=params, server_url=server_url, verifier=verifier)
            redeem(signoff_grant, claims.digest)
        except AlreadyRedeemed as exc:
            raise HTTPException(409, "this grant was already used") from exc
        except GrantRefused as exc:
            raise HTTPException(403, f"grant refused: {exc.detail}") from exc
        except Unavailable as exc:
            raise HTTPException(503, "signoff unreachable; refusing to pay") from exc
        except SignoffError as exc:
            raise HTTPException(403, f"refused: {exc.detail}") from exc
        app.state.ledger.append({"action_id": claims.action_id, **params})
        return {"paid": True, "action_id": claims.action_id}

    return app
