"""``signoff init``, ``serve``, ``demo``, ``db upgrade`` and ``keys rotate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from signoff.adapters.db.engine import create_engine
from signoff.adapters.db.migrate import alembic_config, upgrade
from signoff.adapters.notify import notifiers_for
from signoff.adapters.policy.wiring import policy_source
from signoff.adapters.signing import create_key, load_keys
from signoff.cli.common import open_signoff, settings_for
from signoff.config import Settings
from signoff.errors import ConfigurationError
from signoff.services.setup import create_first_admin

DataDir = Annotated[Path | None, typer.Option("--data-dir", envvar="SIGNOFF_DATA_DIR",
                                              help="Data directory (default ./signoff-data).")]
DbUrl = Annotated[str | None, typer.Option("--database-url", envvar="SIGNOFF_DATABASE_URL",
                                           help="SQLAlchemy URL (default SQLite in data dir).")]


def initialise(settings: Settings, *, admin_email: str, admin_name: str,
               admin_password: str | None) -> str | None:
    """Create what is missing (key, schema, first admin); never overwrite what exists."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if load_keys(settings.keys_dir):
        typer.echo(f"Signing key: kept the existing key in {settings.keys_dir}")
    else:
        kid = create_key(settings.keys_dir)
        typer.echo(f"Signing key: created {kid} in {settings.keys_dir} (mode 0600)")
    engine = create_engine(settings.resolved_database_url, pool_size=2)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"Database: {_safe_url(settings)} is up to date")
    with open_signoff(settings) as app:
        created = create_first_admin(app.ctx, email=admin_email, name=admin_name,
                                     password=admin_password)
    if created is None:
        typer.echo("Users: the workspace already has users; no new admin was created")
        return None
    human, token = created
    typer.echo(f"First admin: {human.email}")
    typer.echo("Admin API token (shown once; store it now):")
    typer.echo(token)
    return token


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def check_schema(settings: Settings) -> None:
    if settings.database_url is None and not (settings.data_dir / "signoff.db").exists():
        raise ConfigurationError(f"no signoff database in {settings.data_dir}; "
                                 "run `signoff init` first")
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(settings.resolved_database_url)) \
        .get_current_head()
    if current != head:
        raise ConfigurationError(f"the database schema is at {current or 'nothing'}, not {head}; "
                                 "run `signoff db upgrade` (or `signoff init`)")


def describe_policy(settings: Settings) -> None:
    """Load the policy once (PolicyError refuses) and say which one is in force."""
    info = policy_source(settings).describe()
    active, shadow = info["active"], info.get("shadow")
    if info["source"] == "shipped_default":
        typer.echo(f"Policy: shipped default version {active['version']} "
                   f"({len(active['rule_ids'])} rules; SIGNOFF_POLICY is not set, "
                   "`signoff policy init` writes a copy to edit)")
    else:
        typer.echo(f"Policy: {active['path']} version {active['version']} "
                   f"({len(active['rule_ids'])} rules)")
    if shadow:
        typer.echo(f"Shadow policy: {shadow['path']} version {shadow['version']} "
                   f"({len(shadow['rule_ids'])} rules; decides, enforces nothing)")


def describe_notifications(settings: Settings) -> None:
    """Say where notifications go (the settings already refused a bad channel)."""
    channels = notifiers_for(settings)
    if channels:
        typer.echo("Notifications: " + "; ".join(n.describe() for n in channels))
    else:
        typer.echo("Notifications: no channel configured (SIGNOFF_SMTP_URL, "
                   "SIGNOFF_WEBHOOK_URL); kept in the outbox and shown in the console only")


def raise_open_file_limit() -> None:
    """Long-polls hold one socket each: let a process use as many descriptors as allowed."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve_forever(settings: Settings, *, host: str, port: int, workers: int = 1,
                  log_level: str = "info") -> None:
    import uvicorn

    raise_open_file_limit()
    check_schema(settings)
    if not load_keys(settings.keys_dir):
        raise ConfigurationError(f"no signing key in {settings.keys_dir}; run `signoff init`")
    describe_policy(settings)  # a bad policy file: one line per error, nothing starts
    describe_notifications(settings)
    if workers > 1:
        from signoff.cli.workers import reuse_port_supported, serve_workers

        if reuse_port_supported():
            serve_workers(settings, host=host, port=port, workers=workers, log_level=log_level)
        else:  # uvicorn's shared socket: the children read their settings from the environment
            uvicorn.run("signoff.api.asgi:create", factory=True, host=host, port=port,
                        workers=workers, log_level=log_level)
        return
    from signoff.api.app import create_app
    from signoff.bootstrap import build

    uvicorn.run(create_app(build(settings)), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")

    @app.command()
    def init(data_dir: DataDir = None, database_url: DbUrl = None,
             admin_email: Annotated[str, typer.Option(help="First admin's email.")] =
             "admin@example.com",
             admin_name: Annotated[str, typer.Option(help="First admin's name.")] = "Admin",
             admin_password: Annotated[str | None, typer.Option(
                 envvar="SIGNOFF_ADMIN_PASSWORD", help="Console password for the first admin.")]
             = None) -> None:
        """Create the data directory, signing key, schema and first admin (prints its token)."""
        initialise(settings_for(data_dir, database_url), admin_email=admin_email,
                   admin_name=admin_name, admin_password=admin_password)

    @app.command()
    def serve(data_dir: DataDir = None, database_url: DbUrl = None,
              host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
              workers: Annotated[int, typer.Option(help="Server processes.")] = 1,
              log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info"
              ) -> None:
        """Run the API (and console) with uvicorn."""
        serve_forever(settings_for(data_dir, database_url), host=host, port=port,
                      workers=workers, log_level=log_level)

    @app.command()
    def demo(data_dir: DataDir = None,
             host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
             port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
             no_serve: Annotated[bool, typer.Option("--no-serve",
                                                    help="Seed only; do not start.")] = False
             ) -> None:
        """Init + a demo workspace with pending work in every tier, then serve."""
        from signoff.cli.demo import seed_demo

        settings = settings_for(data_dir)  # no SIGNOFF_POLICY: the shipped default policy
        if no_serve:  # serving prints it too
            describe_policy(settings)
        initialise(settings, admin_email="admin@example.com", admin_name="Ada Admin",
                   admin_password="signoff-demo-admin")
        seed_demo(settings, url=f"http://{host}:{port}")
        if not no_serve:
            serve_forever(settings, host=host, port=port, log_level="warning")

    @db_app.command("upgrade")
    def db_upgrade(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
        """Apply database migrations (safe to run again)."""
        settings = settings_for(data_dir, database_url)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        typer.echo(f"Database: {_safe_url(settings)} is up to date")

    @keys_app.command("rotate")
    def keys_rotate(data_dir: DataDir = None) -> None:
        """Add a new signing key; older keys stay published so issued grants still verify."""
        settings = settings_for(data_dir)
        kid = create_key(settings.keys_dir)
        typer.echo(f"New signing key {kid}; restart the servers to sign with it")
