"""The system of record: signed checkpoints, chain verification and archiving.

Sealing happens in the unit of work (nothing is ever unsealed); this module adds what lets a
third party trust the chain: checkpoints ``{seq, hash, at, kid}`` signed with the Ed25519 key and
handed to witnesses, a verifier that names the first bad ``seq`` and what is wrong with it, and
an archive that moves old events to a signed file while a signed anchor keeps the remaining
chain verifiable. The checkpointer is safe with several processes: ``seq`` is the checkpoint's
primary key (insert-or-ignore) and PostgreSQL callers also take an advisory lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from signoff.domain.actions import canonical_json
from signoff.domain.audit import (
    GENESIS_HASH,
    ChainWalk,
    Problem,
    StoredRow,
    check_signed,
    check_tail,
    checkpoint_body,
    format_at,
)
from signoff.domain.identities import Principal, Role
from signoff.errors import Conflict, InvalidRequest
from signoff.services.authz import require_role
from signoff.services.context import ServiceContext

__all__ = ["ANCHOR_FIELDS", "CHECKPOINT_FIELDS", "AuditDeps", "AuditStore", "Witness",
           "archive", "checkpoint", "verify", "verify_archive"]

log = logging.getLogger("signoff.audit")
CHECKPOINT_FIELDS = ("seq", "hash", "at", "kid")
ANCHOR_FIELDS = ("seq", "hash", "first_seq", "count", "archive", "archive_sha256", "at", "kid")
Progress = Callable[[int, int], None]


class Witness(Protocol):
    def publish(self, record: dict[str, Any]) -> None: ...


class AuditStore(Protocol):
    def snapshot(self) -> None: ...
    def head(self) -> tuple[int, str]: ...
    def stream(self, *, after: int, batch: int | None = None
               ) -> Iterator[list[StoredRow]]: ...
    def rows_through(self, seq: int) -> Iterator[dict[str, Any]]: ...
    def last_seq_before(self, at: datetime) -> int: ...
    def delete_through(self, seq: int) -> int: ...
    def try_lock_checkpointer(self) -> bool: ...
    def checkpoints(self, *, after: int = -1) -> list[dict[str, Any]]: ...
    def latest_checkpoint(self) -> dict[str, Any] | None: ...
    def add_checkpoint(self, record: dict[str, Any], *, at: datetime, body: str) -> bool: ...
    def anchors(self) -> list[dict[str, Any]]: ...
    def add_anchor(self, record: dict[str, Any], *, at: datetime, body: str) -> None: ...
    def events(self, *, after: int = 0, limit: int = 500, action_id: str | None = None,
               agent_id: str | None = None, workflow: str | None = None,
               actor: str | None = None, types: list[str] | None = None,
               since: datetime | None = None, until: datetime | None = None
               ) -> list[dict[str, Any]]: ...
    def actions_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]: ...
    def reviews_for(self, action_ids: list[str]) -> list[dict[str, Any]]: ...
    def outcomes_for(self, action_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def workflows(self) -> list[dict[str, Any]]: ...
    def people(self) -> dict[str, str]: ...


@dataclass(slots=True)
class AuditDeps:
    """What the audit use cases need beyond the service context (wired by the adapters)."""

    ctx: ServiceContext
    stores: Callable[[Any], AuditStore]
    verify_sig: Callable[[str, bytes, str], bool]
    sign: Callable[[bytes], str]
    witnesses: Sequence[Witness] = ()
    every: int = 1000
    seconds: float = 10.0


def public(record: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {k: record.get(k) for k in (*fields, "signature")}


# --- checkpoints -------------------------------------------------------------------------------

def checkpoint(deps: AuditDeps, *, force: bool = False) -> tuple[dict[str, Any] | None, list[str]]:
    """Sign the head if due (or ``force``); returns the new checkpoint and witness failures."""
    ctx = deps.ctx
    now = ctx.now()
    with ctx.uow() as uow:
        store = deps.stores(uow)
        if not store.try_lock_checkpointer():
            return None, []  # another process is checkpointing right now
        seq, digest = store.head()
        latest = store.latest_checkpoint()
        last = latest["seq"] if latest else 0
        if seq <= last:
            return None, []
        if not force and latest is not None and seq - last < deps.every \
                and (now - latest["stored_at"]).total_seconds() < deps.seconds:
            return None, []
        at, kid = format_at(now), ctx.signer.kid
        body = checkpoint_body(seq=seq, hash_=digest, at=at, kid=kid)
        record: dict[str, Any] = {"seq": seq, "hash": digest, "at": at, "kid": kid,
                                  "signature": deps.sign(body)}
        inserted = store.add_checkpoint(record, at=now, body=body.decode())
        uow.commit()
    if not inserted:
        return None, []
    failures = []
    for witness in deps.witnesses:
        try:
            witness.publish(record)
        except Exception as exc:  # noqa: BLE001 - any witness failure is reported, not fatal
            log.warning("checkpoint %s not published to %s: %s", seq, witness, exc)
            failures.append(f"{witness}: {exc}")
    return record, failures


# --- verification ------------------------------------------------------------------------------

def verify(deps: AuditDeps, principal: Principal, *, witness: list[dict[str, Any]] | None = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """Recompute the chain over the stored bytes and check every signed statement about it."""
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="verifying the audit chain")
    problems: list[Problem] = []
    with deps.ctx.uow(readonly=True) as uow:
        store = deps.stores(uow)
        store.snapshot()
        head = store.head()
        anchors, checkpoints = store.anchors(), store.checkpoints()
        for record in anchors:
            _add(problems, check_signed(record, what="archive anchor", fields=ANCHOR_FIELDS,
                                        verify=deps.verify_sig))
        for record in checkpoints:
            _add(problems, check_signed(record, what="checkpoint", fields=CHECKPOINT_FIELDS,
                                        verify=deps.verify_sig))
        for record in witness or []:
            _add(problems, check_signed(record, what="witness checkpoint",
                                        fields=CHECKPOINT_FIELDS, verify=deps.verify_sig))
        start_seq, start_hash = (anchors[-1]["seq"], anchors[-1]["hash"]) if anchors \
            else (0, GENESIS_HASH)
        signed: dict[int, str] = {}
        for record in [*checkpoints, *(witness or [])]:
            seq, digest = record["seq"], record.get("hash")
            if seq == start_seq and digest != start_hash:
                _add(problems, Problem(seq, "changed", "the archive anchor disagrees with a "
                                                       "signed checkpoint"))
            if seq > start_seq and isinstance(digest, str):
                if signed.setdefault(seq, digest) != digest:
                    _add(problems, Problem(seq, "changed", f"the witness and the database hold "
                                                           f"different checkpoints for {seq}"))
        walk = ChainWalk(start_seq=start_seq, start_hash=start_hash, expect_hashes=signed)
        total = max(head[0] - start_seq, 0)
        batches = store.stream(after=start_seq)
        try:
            for batch in batches:
                if not walk.feed(batch):
                    break
                if progress is not None:
                    progress(walk.checked, total)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        if walk.problem is not None:
            _add(problems, walk.problem)
        else:
            _add(problems, check_tail(last_seq=walk.last_seq, last_hash=walk.last_hash,
                                      head=head, checkpoints=checkpoints,
                                      source="a stored checkpoint"))
            _add(problems, check_tail(last_seq=walk.last_seq, last_hash=walk.last_hash,
                                      head=None, checkpoints=witness or [],
                                      source="the witness file"))
    problems.sort(key=lambda p: p.seq)
    latest = checkpoints[-1] if checkpoints else None
    return {
        "ok": not problems, "events_checked": walk.checked, "first_seq": start_seq + 1,
        "last_seq": walk.last_seq, "head_seq": head[0],
        "first_bad": problems[0].as_dict() if problems else None,
        "problems": [p.as_dict() for p in problems[:20]],
        "checkpoints": len(checkpoints),
        "latest_checkpoint": public(latest, CHECKPOINT_FIELDS) if latest else None,
        "anchor": public(anchors[-1], ANCHOR_FIELDS) if anchors else None,
        "witness_checkpoints": len(witness) if witness is not None else None,
    }


def _add(problems: list[Problem], problem: Problem | None) -> None:
    if problem is not None:
        problems.append(problem)


# --- archive -----------------------------------------------------------------------------------

def archive(deps: AuditDeps, principal: Principal, *, before: datetime, output: Path
            ) -> dict[str, Any]:
    """Move events sealed before ``before`` to a signed JSONL file; anchor what remains."""
    ctx = deps.ctx
    require_role(ctx, principal, Role.ADMIN, what="archiving audit events")
    if output.exists():
        raise InvalidRequest(f"{output} already exists; choose a new file")
    with ctx.uow() as uow:
        store = deps.stores(uow)
        anchors = store.anchors()
        start_seq, prev = (anchors[-1]["seq"], anchors[-1]["hash"]) if anchors \
            else (0, GENESIS_HASH)
        last = store.last_seq_before(before)
        if last <= start_seq:
            raise InvalidRequest(f"no events before {format_at(before)} to archive")
        tmp = output.with_name(output.name + ".partial")
        file_hash, count = hashlib.sha256(), 0
        first_prev, expected = prev, start_seq + 1
        try:
            with open(tmp, "wb") as fh:
                for row in store.rows_through(last):
                    if row["seq"] <= start_seq:
                        continue
                    body = row["body"] if isinstance(row["body"], str) else ""
                    if row["seq"] != expected or row["prev_hash"] != prev or \
                            hashlib.sha256((prev + body).encode()).hexdigest() != row["hash"]:
                        raise Conflict(f"the chain is broken at seq {expected}; run "
                                       "`signoff audit verify` before archiving")
                    line = (json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n").encode()
                    file_hash.update(line)
                    fh.write(line)
                    prev, expected, count = row["hash"], expected + 1, count + 1
                now = ctx.now()
                trailer = {"first_seq": start_seq + 1, "last_seq": last, "last_hash": prev,
                           "first_prev_hash": first_prev, "count": count,
                           "lines_sha256": file_hash.hexdigest(), "at": format_at(now),
                           "kid": ctx.signer.kid}
                line = (json.dumps({"trailer": trailer,
                                    "signature": deps.sign(canonical_json(trailer))},
                                   sort_keys=True) + "\n").encode()
                file_hash.update(line)
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, output)
        finally:
            tmp.unlink(missing_ok=True)
        anchor = {"seq": last, "hash": prev, "first_seq": start_seq + 1, "count": count,
                  "archive": output.name, "archive_sha256": file_hash.hexdigest(),
                  "at": format_at(now), "kid": ctx.signer.kid}
        signed = canonical_json(anchor)
        store.add_anchor({**anchor, "signature": deps.sign(signed)}, at=now,
                         body=signed.decode())
        store.delete_through(last)
        uow.record(ctx.event("audit.archived", principal, at=now, data={
            "first_seq": start_seq + 1, "last_seq": last, "last_hash": prev, "count": count,
            "archive": output.name, "archive_sha256": anchor["archive_sha256"]}))
        uow.commit()
    return anchor


def verify_archive(deps: AuditDeps, principal: Principal, path: Path) -> dict[str, Any]:
    """Check an archive file on its own (chain, trailer signature) and against its anchor."""
    require_role(deps.ctx, principal, Role.AUDITOR, Role.ADMIN, what="verifying an archive")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read archive {path}: {exc.strerror or exc}") from None
    lines = raw.splitlines(keepends=True)
    try:
        last = json.loads(lines[-1]) if lines else {}
        trailer = last["trailer"]
        signed = deps.verify_sig(str(trailer["kid"]), canonical_json(trailer),
                                 str(last["signature"]))
        expected, prev = int(trailer["first_seq"]), str(trailer["first_prev_hash"])
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest(f"{path} is not a signoff archive (no signed trailer)") from None
    problems: list[Problem] = []
    if not signed:
        problems.append(Problem(int(trailer.get("last_seq", 0)), "signature",
                                "the archive trailer's signature does not verify"))
    digest = hashlib.sha256()
    for line in lines[:-1]:
        digest.update(line)
        try:
            row = json.loads(line)
            good = (row["seq"] == expected and row["prev_hash"] == prev and
                    hashlib.sha256((prev + row["body"]).encode()).hexdigest() == row["hash"])
        except (ValueError, KeyError, TypeError):
            good, row = False, {}
        if not good:
            problems.append(Problem(expected, "changed", f"archived event {expected} does not "
                                                         "chain"))
            break
        prev, expected = row["hash"], expected + 1
    if not problems and (digest.hexdigest() != trailer.get("lines_sha256")
                         or expected - 1 != trailer.get("last_seq")
                         or prev != trailer.get("last_hash")):
        problems.append(Problem(expected - 1, "truncated", "the archive's lines do not match "
                                                           "its signed trailer"))
    with deps.ctx.uow(readonly=True) as uow:
        anchors = {a["seq"]: a for a in deps.stores(uow).anchors()}
    anchor = anchors.get(trailer.get("last_seq"))
    whole = hashlib.sha256(raw).hexdigest()
    if anchor is not None and (anchor["hash"] != trailer.get("last_hash")
                               or anchor.get("archive_sha256") != whole):
        problems.append(Problem(anchor["seq"], "changed", "the archive differs from the anchor "
                                                          "recorded in the database"))
    return {"ok": not problems, "archive": str(path), "first_seq": trailer.get("first_seq"),
            "last_seq": trailer.get("last_seq"), "count": trailer.get("count"),
            "anchored": anchor is not None,
            "first_bad": problems[0].as_dict() if problems else None,
            "problems": [p.as_dict() for p in problems]}
