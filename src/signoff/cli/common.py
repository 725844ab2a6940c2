"""What the commands share: settings, the wired application, the local operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from signoff.bootstrap import Signoff, build
from signoff.config import Settings, load_settings
from signoff.domain.identities import Principal
from signoff.errors import ConfigurationError, Unavailable

__all__ = ["LOCAL_ADMIN", "open_signoff", "settings_for"]

# Whoever can run the CLI on the server can read its database and keys: they act as an admin,
# recorded as ``system`` with ``auth_method=local``.
LOCAL_ADMIN = Principal.system("cli", roles=frozenset({"admin", "auditor"}))


def settings_for(data_dir: Path | None = None, database_url: str | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return load_settings(**overrides)


@contextmanager
def open_signoff(settings: Settings) -> Iterator[Signoff]:
    if settings.database_url is None and not (settings.data_dir / "signoff.db").exists():
        raise ConfigurationError(f"no signoff database in {settings.data_dir}; "
                                 "run `signoff init` first")
    try:
        app = build(settings)
    except sa.exc.OperationalError as exc:
        raise Unavailable(f"cannot open the database: {exc.orig}") from None
    try:
        yield app
    finally:
        app.close()
