"""Entry point: ``signoff …``. Errors are one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
import typer

from signoff.cli import admin, server
from signoff.errors import SignoffError

__all__ = ["app", "run"]

app = typer.Typer(name="signoff", no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False,
                  help="Keep a named human accountable for what AI agents do.")
server.register(app)
admin.register(app)


def _mount_optional() -> None:
    """Command groups that live beside the core (policy tools and the like)."""
    from signoff.cli.mcp import mcp_gateway
    app.command("mcp-gateway")(mcp_gateway)
    try:
        from signoff.cli.policy import policy_app
    except ImportError:
        return
    app.add_typer(policy_app, name="policy", help="Check, explain and test risk policies.")
    from signoff.cli.audit import audit_app, evidence
    app.add_typer(audit_app, name="audit")
    app.command("evidence")(evidence)


_mount_optional()


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"signoff: error: {message}", err=True)
    sys.exit(code)


def run() -> None:
    try:
        result = app(standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.exceptions.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except SignoffError as exc:  # one line per problem (a bad policy lists every error)
        lines = exc.detail.splitlines() or ["error"]
        for line in lines[:-1]:
            typer.echo(f"signoff: error: {line}", err=True)
        fail(lines[-1])
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        fail(f"database error: {str(orig or exc).splitlines()[0]}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    run()
