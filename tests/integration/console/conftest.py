"""A signed-out TestClient on the whole app (API and console), with passwords for the world."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from signoff.api.app import create_app
from signoff.services import identities
from tests.conftest import ADMIN, World
from tests.integration.console.helpers import PASSWORD


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    for p in (world.owner, world.rita, world.sid, world.auditor, world.agent_owner):
        identities.update_user(world.ctx, ADMIN, p.id, password=PASSWORD)
    with TestClient(create_app(world.app, sweeper=False), base_url="https://testserver") as c:
        yield c
