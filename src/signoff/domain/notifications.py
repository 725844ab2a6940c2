"""Notifications to people outside the console: what is said, to whom, and when to try again.

A :class:`Notification` is one message to one person about one event (a post-action flag for
the workflow's owner, an escalation for a backup, an action awaiting someone's decision). It is
written to the outbox in the transaction of the event itself, so it exists exactly when the
event does, and a sender delivers it afterwards, outside any request.

What the message says is composed here, as plain text, from the action as it stands when the
message is sent. Everything an agent wrote (kind, target, summary) is untrusted: hidden and
bidirectional characters are shown as markers (``⟦U+202E …⟧``, as in the console), text meant
for a one-line field (a mail subject) has every control and line-break character replaced, and
a long summary is cut with a note that says so, never silently.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from signoff.domain.deception import reveal

__all__ = [
    "Delivery",
    "DeliveryFailed",
    "Notification",
    "NotificationEvent",
    "NotificationState",
    "SUMMARY_CHARS",
    "compose",
    "one_line",
    "plain",
    "retry_delay",
]

SUMMARY_CHARS = 2000     # of the summary in a message; the console shows all of it


class NotificationEvent(StrEnum):
    FLAGGED = "post_review.flagged"        # the audit event's own type
    ESCALATED = "action.escalated"         # the audit event's own type
    PENDING = "action.pending"             # an action.submitted that waits for approval


class NotificationState(StrEnum):
    PENDING = "pending"        # not delivered yet (due at next_attempt_at)
    DELIVERED = "delivered"    # every configured channel took it
    FAILED = "failed"          # gave up: out of attempts, or refused for good
    SKIPPED = "skipped"        # nothing to say any more (no longer pending, recipient gone)


class DeliveryFailed(Exception):
    """A channel did not take a message. ``permanent``: trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(slots=True)
class Notification:
    id: str
    event: NotificationEvent
    action_id: str
    workflow: str
    recipient_id: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    state: NotificationState = NotificationState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    channels_done: list[str] = field(default_factory=list)
    last_error: str | None = None
    settled_at: datetime | None = None


def retry_delay(attempts: int, *, base: float, cap: float = 3600.0) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: base, 2x, 4x … up to cap."""
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message ready for a channel: the person, a subject line, a plain-text body, and
    the facts a webhook receiver gets as JSON."""

    notification: Notification
    email: str
    name: str
    subject: str
    text: str
    link: str
    facts: dict[str, Any]


def plain(text: str) -> str:
    """``text`` with every hidden, bidirectional or control character shown as a marker."""
    return "".join(s.text + s.mark if s.keep else (s.mark or s.text)
                   for s in reveal(text).segments)


def one_line(text: str, limit: int = 120) -> str:
    """Text safe for a one-line field: no CR, LF or other line or control character survives
    (a header injection needs one), hidden characters are markers, runs of space collapse."""
    out = []
    for ch in plain(text):
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zl", "Zp") or category.startswith("C"):
            out.append(" ")
        else:
            out.append(ch)
    flat = " ".join("".join(out).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


_HEADLINES = {
    NotificationEvent.FLAGGED: ("Flagged after review", "was flagged in post-action review"),
    NotificationEvent.ESCALATED: ("Escalated", "is still waiting for approval past its "
                                  "review deadline; you are asked as a backup approver"),
    NotificationEvent.PENDING: ("Awaiting your decision", "waits for your decision"),
}


def compose(notification: Notification, *, email: str, name: str, action: Any, link: str,
            by: str | None = None) -> Delivery:
    """The message about ``action`` (as it stands now) for one person."""
    req = action.request
    short, long = _HEADLINES[notification.event]
    subject = one_line(f"[signoff] {short}: {req.kind} on {req.target} "
                       f"({notification.workflow})", 200)
    summary = req.summary or ""
    cut = summary[:SUMMARY_CHARS]
    lines = [
        f"Hello {one_line(name or email, 100)},",
        "",
        f"An action in workflow {one_line(notification.workflow)} {long}.",
        "",
        f"  Action:   {notification.action_id}",
        f"  Kind:     {one_line(req.kind)}",
        f"  Target:   {one_line(req.target, 300)}",
        f"  Tier:     {action.tier}",
        f"  Status:   {action.status}",
    ]
    if by:
        lines.append(f"  By:       {one_line(by)}")
    note = str(notification.data.get("note") or "")
    if note:
        lines += ["", "Note from the reviewer:", plain(note[:SUMMARY_CHARS])]
    lines += ["", "What the agent said it does (its own words, unverified):", plain(cut)]
    if len(summary) > len(cut):
        lines.append(f"[… {len(summary) - len(cut):,} more characters: read the whole text "
                     "in the console]")
    lines += ["", f"Open it in the console: {link}", "",
              "You get this because signoff names you for this workflow. Decisions are made in "
              "the console, never by replying to this message."]
    facts = {"id": notification.id, "event": notification.event.value,
             "action_id": notification.action_id, "workflow": notification.workflow,
             "created_at": notification.created_at.isoformat(), "link": link,
             "kind": req.kind, "target": req.target, "tier": action.tier,
             "status": str(action.status), "summary": cut,
             "summary_truncated": len(summary) > len(cut),
             "recipient": {"id": notification.recipient_id, "email": email, "name": name}}
    if note:
        facts["note"] = note[:SUMMARY_CHARS]
    if by:
        facts["by"] = by
    return Delivery(notification=notification, email=email, name=name, subject=subject,
                    text="\n".join(lines) + "\n", link=link, facts=facts)
