"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), a wired signoff,
a small world of people/agents/workflows, and real server processes."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import upgrade
from signoff.adapters.signing import create_key
from signoff.bootstrap import Signoff, build
from signoff.config import load_settings
from signoff.domain.identities import Principal, PrincipalKind
from signoff.services import identities, workflows
from signoff.testing import FakeClock

PG_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_REQUIRED = os.environ.get("SIGNOFF_REQUIRE_POSTGRES", "") in ("1", "true", "yes")
ADMIN = Principal.system("tests", roles=frozenset({"admin", "auditor"}))


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return str(exc).splitlines()[0]


_PG_PROBLEM: str | None | bool = False


def pg_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_available()
    return _PG_PROBLEM  # type: ignore[return-value]


def require_pg() -> None:
    problem = pg_problem()
    if problem is None:
        return
    if PG_REQUIRED:
        pytest.fail(f"PostgreSQL is required (SIGNOFF_REQUIRE_POSTGRES=1) but unreachable: "
                    f"{problem}")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem}); "
                "set SIGNOFF_TEST_POSTGRES_URL to run these tests")


def fresh_pg_schema() -> str:
    """A new schema in the test database; the URL pins search_path to it."""
    require_pg()
    schema = "t_" + secrets.token_hex(6)
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schema(url: str) -> None:
    schema = url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signoff.db'}"
        return
    url = fresh_pg_schema()
    try:
        yield url
    finally:
        drop_pg_schema(url)


def prepare(data_dir: Path, url: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    create_key(data_dir / "keys")
    engine = create_engine(url, pool_size=2)
    upgrade(engine)
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    # Real "now": grants carry real timestamps that outside verifiers check.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def signoff(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Signoff]:
    data_dir = tmp_path / "data"
    prepare(data_dir, db_url)
    app = build(load_settings(data_dir=data_dir, database_url=db_url), clock=clock)
    try:
        yield app
    finally:
        app.close()


@dataclass
class World:
    """A workspace: an owner, two reviewers, an auditor, one workflow, one agent."""

    app: Signoff
    owner: Principal
    rita: Principal
    sid: Principal
    auditor: Principal
    agent: Principal
    agent_owner: Principal
    agent_token: str

    @property
    def ctx(self) -> Any:
        return self.app.ctx


def human(app: Signoff, email: str, roles: list[str]) -> Principal:
    h = identities.create_user(app.ctx, ADMIN, email=email, name=email.split("@")[0],
                               roles=roles)
    return Principal(kind=PrincipalKind.HUMAN, id=h.id, roles=frozenset(roles), name=email)


def make_world(app: Signoff) -> World:
    owner = human(app, "olivia@example.com", ["owner", "reviewer"])
    rita = human(app, "rita@example.com", ["reviewer"])
    sid = human(app, "sid@example.com", ["reviewer"])
    auditor = human(app, "audrey@example.com", ["auditor"])
    agent_owner = human(app, "ash@example.com", ["owner"])
    identities.create_group(app.ctx, ADMIN, name="release-reviewers",
                            members=["rita@example.com", "sid@example.com"])
    workflows.create_workflow(app.ctx, ADMIN, name="prod-deploys",
                              owner_email="olivia@example.com", backups=["rita@example.com"],
                              groups=["release-reviewers"])
    agent, token = identities.create_agent(app.ctx, ADMIN, name="deploy-bot",
                                           owner_email="ash@example.com",
                                           scopes={"workflows": ["prod-deploys"],
                                                   "kinds": ["deploy.*", "draft.*", "iam.*",
                                                             "secrets.*", "note.*"]})
    return World(app=app, owner=owner, rita=rita, sid=sid, auditor=auditor,
                 agent=Principal(kind=PrincipalKind.AGENT, id=agent.id, name=agent.name),
                 agent_owner=agent_owner, agent_token=token)


@pytest.fixture
def world(signoff: Signoff) -> World:
    return make_world(signoff)


# --- real server processes ------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(data_dir: Path, db_url: str | None = None, *, env: dict[str, str] | None = None,
                 port: int | None = None, workers: int = 1) -> LiveServer:
    port = port or free_port()
    log = data_dir / f"server-{port}.log"
    full_env = {**os.environ, "SIGNOFF_DATA_DIR": str(data_dir), **(env or {})}
    if db_url:
        full_env["SIGNOFF_DATABASE_URL"] = db_url
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "signoff.cli.main", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--workers", str(workers)],
            stdout=fh, stderr=subprocess.STDOUT, env=full_env)
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=proc, log=log)
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=1) as poll:  # one client: building one per poll costs an SSL setup
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if poll.get(server.url + "/healthz").status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True
        ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "signoff.cli.main", *args],
                            capture_output=True, text=True, env={**os.environ, **(env or {})},
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"signoff {' '.join(args)} failed: {result.stderr}")
    return result
