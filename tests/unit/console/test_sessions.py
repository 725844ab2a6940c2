"""Sign-in with lockout, server-side sessions, CSRF tokens (services, real SQLite)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from signoff.adapters.db.console_store import SqlSessionRepository
from signoff.bootstrap import Signoff
from signoff.services import identities
from signoff.services.sessions import (
    SessionService,
    SignInRefused,
    csrf_matches,
    hash_session_id,
)
from signoff.testing import FakeClock
from tests.conftest import ADMIN

pytestmark = pytest.mark.usefixtures("signoff")


def _service(app: Signoff, **kw: int) -> SessionService:
    return SessionService(app.ctx, lambda uow: SqlSessionRepository(uow.connection),  # type: ignore[attr-defined]
                          **{"max_failures": 3, "lockout_seconds": 60, "idle_seconds": 600,
                             "max_seconds": 3600, **kw})


@pytest.fixture
def ann(signoff: Signoff) -> str:
    return identities.create_user(signoff.ctx, ADMIN, email="ann@example.com", name="Ann",
                                  roles=["reviewer", "owner"], password="s3cret-pass").id


def _events(app: Signoff, prefix: str) -> list[dict]:
    with app.ctx.uow(readonly=True) as uow:
        return [e for e in uow.audit.events(limit=10_000) if e["type"].startswith(prefix)]


def test_sign_in_creates_a_session_with_the_human_principal(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    s = svc.sign_in_password("ANN@example.com", "s3cret-pass", ip="127.0.0.1")
    assert s.principal.id == ann and s.principal.is_human
    assert s.principal.roles == frozenset({"reviewer", "owner"})
    assert s.principal.auth_method == "password" and s.principal.name == "ann@example.com"
    again = svc.resolve(s.id)
    assert again is not None and again.user_id == ann and again.csrf_token == s.csrf_token
    with signoff.ctx.uow(readonly=True) as uow:
        stored = SqlSessionRepository(uow.connection).get(hash_session_id(s.id))  # type: ignore[attr-defined]
        assert stored is not None and stored["user_id"] == ann
        assert SqlSessionRepository(uow.connection).get(s.id) is None  # type: ignore[attr-defined]
    assert [e["type"] for e in _events(signoff, "auth.")] == ["auth.signin"]


def test_unknown_user_and_wrong_password_read_the_same(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    with pytest.raises(SignInRefused) as unknown:
        svc.sign_in_password("nobody@example.com", "x")
    with pytest.raises(SignInRefused) as wrong:
        svc.sign_in_password("ann@example.com", "x")
    assert unknown.value.detail == wrong.value.detail
    assert [e["type"] for e in _events(signoff, "auth.")] == ["auth.signin_failed"] * 2


def test_lockout_after_max_failures_then_release(signoff: Signoff, clock: FakeClock,
                                                 ann: str) -> None:
    svc = _service(signoff)
    for _ in range(3):
        with pytest.raises(SignInRefused):
            svc.sign_in_password("ann@example.com", "wrong")
    with pytest.raises(SignInRefused, match="locked"):
        svc.sign_in_password("ann@example.com", "s3cret-pass")   # even the right password
    types = [e["type"] for e in _events(signoff, "auth.")]
    assert types.count("auth.locked_out") == 1 and types[-1] == "auth.signin_locked"
    clock.advance(61)
    assert svc.sign_in_password("ann@example.com", "s3cret-pass").principal.id == ann
    with pytest.raises(SignInRefused):   # the counter was reset by the lockout and success
        svc.sign_in_password("ann@example.com", "wrong")
    assert svc.sign_in_password("ann@example.com", "s3cret-pass")


def test_success_resets_the_failure_count(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    for _ in range(2):
        with pytest.raises(SignInRefused):
            svc.sign_in_password("ann@example.com", "wrong")
    svc.sign_in_password("ann@example.com", "s3cret-pass")
    for _ in range(2):
        with pytest.raises(SignInRefused):
            svc.sign_in_password("ann@example.com", "wrong")
    assert svc.sign_in_password("ann@example.com", "s3cret-pass")


def test_idle_and_absolute_expiry(signoff: Signoff, clock: FakeClock, ann: str) -> None:
    svc = _service(signoff)
    s = svc.sign_in_password("ann@example.com", "s3cret-pass")
    clock.advance(500)
    assert svc.resolve(s.id) is not None     # touches last_seen
    clock.advance(500)
    assert svc.resolve(s.id) is not None
    clock.advance(601)
    assert svc.resolve(s.id) is None         # idle
    s2 = svc.sign_in_password("ann@example.com", "s3cret-pass")
    for _ in range(8):
        clock.advance(500)
        svc.resolve(s2.id)
    assert svc.resolve(s2.id) is None        # past max_seconds even though active


def test_deactivated_user_loses_the_session(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    s = svc.sign_in_password("ann@example.com", "s3cret-pass")
    identities.update_user(signoff.ctx, ADMIN, ann, active=False)
    assert svc.resolve(s.id) is None
    with pytest.raises(SignInRefused):
        svc.sign_in_password("ann@example.com", "s3cret-pass")


def test_sign_out_and_garbage_cookies(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    s = svc.sign_in_password("ann@example.com", "s3cret-pass")
    svc.sign_out(s)
    assert svc.resolve(s.id) is None
    assert svc.resolve(None) is None and svc.resolve("") is None
    assert svc.resolve("x" * 5000) is None
    assert "auth.signout" in [e["type"] for e in _events(signoff, "auth.")]


def test_sso_ready_start_records_the_method(signoff: Signoff, ann: str) -> None:
    s = _service(signoff).start(ann, auth_method="sso")
    assert s.principal.auth_method == "sso"
    assert _events(signoff, "auth.signin")[-1]["data"]["auth_method"] == "sso"


def test_csrf_token_is_per_session_and_compared_exactly(signoff: Signoff, ann: str) -> None:
    svc = _service(signoff)
    a = svc.sign_in_password("ann@example.com", "s3cret-pass")
    b = svc.sign_in_password("ann@example.com", "s3cret-pass")
    assert a.csrf_token != b.csrf_token and len(a.csrf_token) >= 32
    assert csrf_matches(a, a.csrf_token)
    assert not csrf_matches(a, b.csrf_token)
    assert not csrf_matches(a, None) and not csrf_matches(a, "")
    assert not csrf_matches(a, a.csrf_token[:-1])
    assert not csrf_matches(replace(a, csrf_token="x"), a.csrf_token)


def test_passwords_are_stored_as_argon2id_only(signoff: Signoff, ann: str) -> None:
    with signoff.ctx.uow(readonly=True) as uow:
        stored = uow.humans.get(ann).password_hash
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    identities.update_user(signoff.ctx, ADMIN, ann, password="another-pass")
    with signoff.ctx.uow(readonly=True) as uow:
        changed = uow.humans.get(ann).password_hash
    assert changed.startswith("$argon2id$") and changed != stored
    with pytest.raises(SignInRefused):
        _service(signoff).sign_in_password("ann@example.com", "s3cret-pass")
    assert _service(signoff).sign_in_password("ann@example.com", "another-pass").user_id == ann
