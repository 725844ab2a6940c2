"""The audit HTTP surface: /v1/audit filters and cursor, /v1/audit/verify, /healthz."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.services import audit as audit_service
from signoff.services import identities
from tests.conftest import ADMIN
from tests.integration.audit.conftest import deps, sql


@pytest.fixture
def api(chain: Any) -> Any:
    _, auditor = identities.create_user_token(chain.ctx, ADMIN, chain.auditor.id, name="t")
    _, reviewer = identities.create_user_token(chain.ctx, ADMIN, chain.rita.id, name="t")
    with TestClient(create_app(chain.app, sweeper=False)) as client:
        yield client, {"Authorization": f"Bearer {auditor}"}, {
            "Authorization": f"Bearer {reviewer}"}


def test_audit_list_filters_and_cursor(api: Any, chain: Any) -> None:
    client, auditor, reviewer = api
    assert client.get("/v1/audit", headers=reviewer).status_code == 403
    page = client.get("/v1/audit?limit=3", headers=auditor).json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3] and page["next"] == 3
    nxt = client.get(f"/v1/audit?after={page['next']}&limit=3", headers=auditor).json()
    assert nxt["items"][0]["seq"] == 4
    typed = client.get("/v1/audit?type=review.recorded&type=review.viewed",
                       headers=auditor).json()["items"]
    assert typed and {e["type"] for e in typed} <= {"review.recorded", "review.viewed"}
    human = client.get(f"/v1/audit?human={chain.rita.id}", headers=auditor).json()["items"]
    assert human and all(e["actor"] == chain.rita.actor for e in human)
    wf = client.get("/v1/audit?workflow=prod-deploys&agent=" + chain.agent.id,
                    headers=auditor).json()["items"]
    assert wf and all(e["workflow"] == "prod-deploys" for e in wf)
    bad = client.get("/v1/audit?since=yesterday", headers=auditor)
    assert bad.status_code == 422 and "ISO 8601" in bad.json()["detail"]
    empty = client.get("/v1/audit?since=2999-01-01", headers=auditor).json()
    assert empty == {"items": [], "next": None, "next_after": 0}


def test_verify_endpoint_and_healthz(api: Any, chain: Any) -> None:
    client, auditor, reviewer = api
    assert client.get("/v1/audit/verify", headers=reviewer).status_code == 403
    audit_service.checkpoint(deps(chain), force=True)
    health = client.get("/healthz").json()["audit"]
    assert health["unsealed"] == 0 and health["latest_checkpoint"]["seq"] == health["seq"]
    assert client.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
    sql(chain, "DELETE FROM audit_events WHERE seq = 4")
    report = client.get("/v1/audit/verify", headers=auditor).json()
    assert report["ok"] is False and report["first_bad"]["seq"] == 4
    assert report["first_bad"]["kind"] == "deleted"
