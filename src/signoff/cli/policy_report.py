"""``signoff policy diff-report``: where the shadow policy would have decided differently.

Reads the ``shadow`` record of each ``action.submitted`` audit event (the tamper-evident log is
the only source), through :func:`signoff.services.policy_admin.shadow_report`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from signoff.cli.common import LOCAL_ADMIN, open_signoff, settings_for
from signoff.cli.policy import policy_app
from signoff.errors import InvalidRequest
from signoff.services.policy_admin import shadow_report

__all__ = ["diff_report", "parse_since"]


def parse_since(value: str | None) -> datetime | None:
    """``2025-01-31`` (midnight UTC) or an ISO timestamp; naive means UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise InvalidRequest(f"--since {value!r}: use YYYY-MM-DD or an ISO timestamp",
                                 field="since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _side(d: dict[str, Any]) -> str:
    return f"{d.get('tier') or '?'}/{d.get('mode') or '?'}"


def _render_table(report: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=True, width=220)
    table = Table(title="Shadow policy differences")
    for col in ("action", "at", "kind", "verdict", "active tier/mode", "shadow tier/mode",
                "active rules", "shadow rules"):
        table.add_column(col, no_wrap=col.endswith("mode") or col == "verdict")
    for item in report["items"]:
        active, shadow = item["active"], item["shadow"]
        table.add_row(escape(item["action_id"] or ""), escape(str(item["at"])[:19]),
                      escape(item["kind"] or ""), item["verdict"], escape(_side(active)),
                      escape(shadow.get("error") or _side(shadow)),
                      escape(",".join(active.get("matched_rules") or []) or "-"),
                      escape(",".join(shadow.get("matched_rules") or []) or "-"))
    console.print(table)
    s = report["summary"]
    console.print(f"{s['evaluated']} decisions in shadow, {s['differing']} differ: "
                  f"{s['stricter']} stricter, {s['looser']} looser, {s['different']} other "
                  f"differences, {s['errors']} shadow errors", markup=False)


@policy_app.command("diff-report")
def diff_report(
    since: Annotated[str | None, typer.Option("--since", help="From this date (YYYY-MM-DD) "
                                              "or ISO timestamp.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    show_all: Annotated[bool, typer.Option("--all", help="Also list decisions where the shadow "
                                           "agreed.")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="SIGNOFF_DATA_DIR",
                                                  help="Data directory.")] = None,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="SIGNOFF_DATABASE_URL", help="SQLAlchemy URL.")] = None,
) -> None:
    """List actions the shadow policy (SIGNOFF_POLICY_SHADOW) would have decided differently."""
    if fmt not in ("table", "json"):
        raise InvalidRequest("--format must be table or json", field="format")
    with open_signoff(settings_for(data_dir, database_url)) as app:
        report = shadow_report(app.ctx, LOCAL_ADMIN, since=parse_since(since),
                               only_differences=not show_all)
    if fmt == "json":
        typer.echo(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        _render_table(report)
