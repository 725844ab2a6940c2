"""The example executor: work happens only with a valid, unspent grant for this exact request."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sdk_helpers import KeyPair

from signoff.client import GrantVerifier, compute_digest
from signoff.errors import AlreadyRedeemed

_APP = Path(__file__).resolve().parents[2] / "examples" / "executor_service" / "app.py"
_spec = importlib.util.spec_from_file_location("executor_service_app", _APP)
assert _spec is not None and _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)
create_app = example.create_app

BODY = {"customer": "cus_42", "amount": 120, "currency": "EUR"}
DIGEST = compute_digest("refunds", "payments.send", "cus_42", BODY)


@pytest.fixture
def service() -> tuple[TestClient, KeyPair]:
    key = KeyPair()
    spent: set[str] = set()

    def redeem(token: str, digest: str) -> None:  # the server's single-use rule, in memory
        if token in spent:
            raise AlreadyRedeemed("already redeemed")
        spent.add(token)

    app = create_app(server_url="http://signoff.test", verifier=GrantVerifier(fetch=key.jwks),
                     redeem=redeem)
    return TestClient(app), key


def test_pays_once_with_a_valid_grant(service: tuple[TestClient, KeyPair]) -> None:
    http, key = service
    grant = key.grant(digest=DIGEST)
    first = http.post("/payments", json=BODY, headers={"Signoff-Grant": grant})
    assert first.status_code == 200 and first.json()["action_id"] == "act_1"
    again = http.post("/payments", json=BODY, headers={"Signoff-Grant": grant})
    assert again.status_code == 409
    assert len(http.app.state.ledger) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "grant_kw", "status"),
    [
        (BODY, None, 401),                                          # no grant at all
        ({**BODY, "amount": 12000}, {}, 403),                       # grant for other arguments
        (BODY, {"workflow": "payroll"}, 403),                       # other workflow
        (BODY, {"exp": 1}, 403),                                    # expired
    ],
)
def test_refuses_without_a_matching_grant(service: tuple[TestClient, KeyPair], body: dict,
                                          grant_kw: dict | None, status: int) -> None:
    http, key = service
    headers = {} if grant_kw is None else {"Signoff-Grant": key.grant(digest=DIGEST, **grant_kw)}
    assert http.post("/payments", json=body, headers=headers).status_code == status
    assert http.app.state.ledger == []  # type: ignore[attr-defined]


def test_forged_signature_is_refused(service: tuple[TestClient, KeyPair]) -> None:
    http, _ = service
    forged = KeyPair()
    forged.kid = "k-unknown"
    response = http.post("/payments", json=BODY,
                         headers={"Signoff-Grant": forged.grant(digest=DIGEST)})
    assert response.status_code == 403
