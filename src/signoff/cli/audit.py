"""``signoff audit …`` and ``signoff evidence``: the operator's and the auditor's commands.

The local operator acts as ``system:cli`` with the admin and auditor roles (see
:mod:`signoff.cli.common`). Output meant for machines (verify ``--json``, export) is JSON;
everything else is for people.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from signoff.adapters.db.audit_store import audit_deps
from signoff.adapters.witness import read_witness_file
from signoff.cli.common import LOCAL_ADMIN, open_signoff, settings_for
from signoff.cli.server import DataDir, DbUrl
from signoff.errors import InvalidRequest
from signoff.services import audit as audit_service
from signoff.services.audit_query import action_story, export, parse_time

__all__ = ["audit_app", "evidence"]

audit_app = typer.Typer(help="Verify, investigate, export and archive the audit chain.",
                        no_args_is_help=True)
err = Console(stderr=True)


@audit_app.command("verify")
def verify(witness: Annotated[Path | None, typer.Option(
               help="JSONL file of checkpoints held by a witness.")] = None,
           archive: Annotated[Path | None, typer.Option(
               help="Also check an archive file written by `signoff audit archive`.")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
           = False, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Recompute the chain and check every signature; exit 0 only when all holds."""
    held = read_witness_file(witness) if witness is not None else None
    with open_signoff(settings_for(data_dir, database_url)) as so:
        deps = audit_deps(so.ctx, so.settings)
        with Progress(TextColumn("verifying"), BarColumn(), TaskProgressColumn(),
                      TextColumn("{task.completed:,} events"), TimeRemainingColumn(),
                      console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task("verify", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total or None)

            report = audit_service.verify(deps, LOCAL_ADMIN, witness=held, progress=progress)
        if archive is not None:
            report["archive"] = audit_service.verify_archive(deps, LOCAL_ADMIN, archive)
            report["ok"] = report["ok"] and report["archive"]["ok"]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_verify(report)
    raise typer.Exit(0 if report["ok"] else 1)


def _print_verify(report: dict[str, Any]) -> None:
    cp = report["latest_checkpoint"]
    where = f"seq {report['first_seq']}..{report['last_seq']}" if report["last_seq"] else "empty"
    typer.echo(f"events checked: {report['events_checked']:,} ({where}); head seq "
               f"{report['head_seq']}; checkpoints: {report['checkpoints']}")
    if cp:
        typer.echo(f"latest checkpoint: seq {cp['seq']} hash {cp['hash'][:16]}… at {cp['at']} "
                   f"kid {cp['kid']}")
    if report.get("anchor"):
        a = report["anchor"]
        typer.echo(f"archive anchor: seq {a['seq']} ({a['archive']}, {a['count']} events)")
    if report.get("witness_checkpoints") is not None:
        typer.echo(f"witness checkpoints checked: {report['witness_checkpoints']}")
    if report.get("archive"):
        a = report["archive"]
        typer.echo(f"archive {a['archive']}: {'ok' if a['ok'] else 'BROKEN'} "
                   f"(seq {a['first_seq']}..{a['last_seq']}, anchored={a['anchored']})")
        for p in a["problems"]:
            typer.echo(f"  archive seq {p['seq']}: {p['kind']}: {p['detail']}")
    if report["ok"]:
        typer.echo("OK: the chain is intact and every signature verifies (tamper-evident).")
        return
    bad = report["first_bad"]
    if bad:
        typer.echo(f"FAILED: first bad seq {bad['seq']}: {bad['kind']}: {bad['detail']}")
        for p in report["problems"][1:]:
            typer.echo(f"  also seq {p['seq']}: {p['kind']}: {p['detail']}")


@audit_app.command("checkpoint")
def checkpoint_now(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Sign a checkpoint of the current head now and publish it to the witnesses."""
    with open_signoff(settings_for(data_dir, database_url)) as so:
        record, failures = audit_service.checkpoint(audit_deps(so.ctx, so.settings), force=True)
    if record is None:
        typer.echo("nothing new to checkpoint")
        return
    typer.echo(f"checkpoint seq {record['seq']} hash {record['hash']} kid {record['kid']}")
    for failure in failures:
        typer.echo(f"signoff: warning: witness not reached: {failure}", err=True)
    if failures:
        raise typer.Exit(2)


@audit_app.command("show")
def show(action_id: str, as_json: Annotated[bool, typer.Option("--json")] = False,
         data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """The whole story of one action, in order."""
    with open_signoff(settings_for(data_dir, database_url)) as so:
        story = action_story(audit_deps(so.ctx, so.settings), LOCAL_ADMIN, action_id)
    if as_json:
        typer.echo(json.dumps(story, indent=2, default=str))
        return
    from signoff.cli.audit_render import render_story
    Console(highlight=False).print(render_story(story), markup=False)


@audit_app.command("export")
def export_cmd(format_: Annotated[str, typer.Option("--format", help="jsonl")] = "jsonl",
               after: Annotated[int, typer.Option(help="Resume after this event seq.")] = 0,
               output: Annotated[Path | None, typer.Option(help="File (default stdout).")]
               = None, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Stream events, then checkpoints, as JSON lines for a SIEM."""
    if format_ != "jsonl":
        raise InvalidRequest(f"unknown format {format_!r}; use jsonl")
    with open_signoff(settings_for(data_dir, database_url)) as so:
        out = open(output, "a", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        try:
            for item in export(audit_deps(so.ctx, so.settings), LOCAL_ADMIN, after=after):
                out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
        finally:
            if output:
                out.close()


@audit_app.command("archive")
def archive_cmd(before: Annotated[str, typer.Option(help="Archive events sealed before this "
                                                         "date (ISO 8601).")],
                output: Annotated[Path, typer.Option(help="New JSONL file to write.")],
                data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Move old events to a signed file; a signed anchor keeps the rest verifiable."""
    when = parse_time(before, name="before")
    assert when is not None
    with open_signoff(settings_for(data_dir, database_url)) as so:
        anchor = audit_service.archive(audit_deps(so.ctx, so.settings), LOCAL_ADMIN,
                                       before=when, output=output)
    typer.echo(f"archived seq {anchor['first_seq']}..{anchor['seq']} ({anchor['count']} events) "
               f"to {output}; anchor hash {anchor['hash']}")


def evidence(since: Annotated[str, typer.Option(help="Start of the period (ISO 8601).")],
             until: Annotated[str | None, typer.Option(help="End (default: now).")] = None,
             format_: Annotated[str, typer.Option("--format", help="html or md")] = "html",
             output: Annotated[Path | None, typer.Option(help="File (default stdout).")] = None,
             data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """An evidence report for auditors: owners, decisions, exceptions, chain, control map."""
    from signoff.adapters.report import render_report
    from signoff.services.evidence import collect

    if format_ not in ("html", "md"):
        raise InvalidRequest(f"unknown format {format_!r}; use html or md")
    start = parse_time(since, name="since")
    end = parse_time(until, name="until") or datetime.now(UTC)
    assert start is not None
    with open_signoff(settings_for(data_dir, database_url)) as so:
        data = collect(audit_deps(so.ctx, so.settings), LOCAL_ADMIN, since=start, until=end)
    text = render_report(data, format_)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
