"""A real `signoff serve` process with a seeded workspace, reached over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, cli, drop_pg_schema, fresh_pg_schema, start_server


@dataclass
class Workspace:
    servers: list[LiveServer]
    admin: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    clients: dict[tuple[str, int], httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.servers[0].url

    def client(self, who: str, server: int = 0) -> httpx.Client:
        key = (who, server)
        if key not in self.clients:
            self.clients[key] = httpx.Client(
                base_url=self.servers[server].url, timeout=30,
                headers={"Authorization": f"Bearer {self.tokens[who]}"})
        return self.clients[key]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def init_workspace(data_dir: Path, db_url: str | None) -> str:
    env = {"SIGNOFF_DATA_DIR": str(data_dir)}
    if db_url:
        env["SIGNOFF_DATABASE_URL"] = db_url
    out = cli("init", env=env).stdout
    return [line for line in out.splitlines() if line.startswith("so_user_")][0]


def seed(ws: Workspace) -> None:
    ws.tokens["admin"] = ws.admin
    admin = ws.client("admin")
    people = {"olivia": ["owner", "reviewer"], "rita": ["reviewer"], "sid": ["reviewer"],
              "audrey": ["auditor"], "ash": ["owner"]}
    for name, roles in people.items():
        user = admin.post("/v1/users", json={"email": f"{name}@example.com", "name": name,
                                             "roles": roles}).json()
        ws.ids[name] = user["id"]
        ws.tokens[name] = admin.post(f"/v1/users/{user['id']}/tokens",
                                     json={"name": "e2e"}).json()["token"]
    admin.post("/v1/groups", json={"name": "release-reviewers",
                                   "members": ["rita@example.com", "sid@example.com"]})
    r = admin.post("/v1/workflows", json={"name": "prod-deploys", "owner": "olivia@example.com",
                                          "backups": ["rita@example.com"],
                                          "groups": ["release-reviewers"]})
    assert r.status_code == 201, r.text
    agent = admin.post("/v1/agents", json={"name": "deploy-bot", "owner": "ash@example.com",
                                           "scopes": {"workflows": ["prod-deploys"],
                                                      "kinds": ["deploy.*", "draft.*",
                                                                "secrets.*"]}}).json()
    ws.ids["agent"], ws.tokens["agent"] = agent["id"], agent["token"]


def _workspace(tmp_path: Path, db_url: str | None, processes: int) -> Iterator[Workspace]:
    data_dir = tmp_path / "data"
    admin = init_workspace(data_dir, db_url)
    servers = [start_server(data_dir, db_url) for _ in range(processes)]
    ws = Workspace(servers=servers, admin=admin)
    try:
        seed(ws)
        yield ws
    finally:
        ws.close()
        for s in servers:
            s.stop()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Workspace]:
    """One server process on SQLite."""
    yield from _workspace(tmp_path, None, 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_multi(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """SQLite with one process; PostgreSQL with two processes on one database."""
    if request.param == "sqlite":
        yield from _workspace(tmp_path, None, 1)
        return
    url = fresh_pg_schema()
    try:
        yield from _workspace(tmp_path, url, 2)
    finally:
        drop_pg_schema(url)


def propose(client: httpx.Client, kind: str = "deploy.release", **over: Any) -> dict[str, Any]:
    body = {"workflow": "prod-deploys", "kind": kind, "target": "svc/api",
            "params": {"version": "1.0"}, "summary": "Release 1.0", **over}
    r = client.post("/v1/actions", json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()
