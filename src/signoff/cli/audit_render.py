"""Plain-text rendering of one action's story for ``signoff audit show`` (no markup: AI text
in summaries and rationales is printed verbatim, never interpreted)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_story"]


def _fmt(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(
        value, dict | list) else str(value)


def render_story(story: dict[str, Any]) -> str:
    lines = [f"action {story['action_id']}"]
    action = story.get("action")
    if action:
        lines += [
            f"  {action['workflow']} / {action['kind']} -> {action['target']}",
            f"  status {action['status']}; tier {action['tier']}; mode {action['mode']}; "
            f"policy {action['policy_version']}",
            f"  rules: {', '.join(r.get('rule_id', '?') for r in action['reasons'])}"
            if action["reasons"] else "  rules: none matched (default tier)",
            f"  proposed by agent {action['agent']} on behalf of "
            f"{action['on_behalf_of'] or '(nobody named)'}",
            f"  agent chain: {' -> '.join(action['chain']) or '(direct)'}"
            + (f"; handed off from {action['parent_id']}" if action["parent_id"] else ""),
            f"  digest {action['digest']}",
            f"  params: {_fmt(action['params'])}",
            f"  AI summary: {action['summary']}",
        ]
        for item in action["inputs"]:
            lines.append(f"  input: {item['source']} {item['ref']}: {item['excerpt']}")
        impact = action["impact"]
        lines.append(f"  impact: reversible={impact['reversible']} "
                     f"external={impact['external']} {impact['description']}")
    lines.append("timeline:")
    for step in story["events"]:
        extra = ""
        data = step["data"]
        if step["type"] == "review.recorded":
            extra = (f" {data.get('verdict')} after {data.get('dwell_seconds')}s of review: "
                     f"{data.get('rationale')!r}")
        elif step["type"] == "action.outcome":
            extra = f" {data.get('status')}: {data.get('detail')}"
        elif step["type"] == "action.approved":
            extra = f" approvers {data.get('approvers')}"
        elif data.get("reason"):
            extra = f" ({data['reason']})"
        lines.append(f"  #{step['seq']} {step['at']} {step['what']} by {step['who']}{extra}")
    for review in story.get("reviews") or []:
        lines.append(f"review: {review['reviewer']} {review['verdict']} ({review['stage']}), "
                     f"opened {review['first_viewed_at']}, decided {review['decided_at']}: "
                     f"{review['rationale']!r}")
    grant = story.get("grant")
    if grant:
        lines.append(f"grant {grant['jti']}: issued {grant['issued_at']}, expires "
                     f"{grant['expires_at']}, redeemed {grant['redeemed_at'] or 'never'}"
                     + (f", revoked {grant['revoked_at']}" if grant["revoked_at"] else ""))
    outcome = story.get("outcome")
    lines.append(f"outcome: {outcome['status']} ({outcome['detail']}) reported by "
                 f"{outcome['reported_by']} at {outcome['at']}" if outcome else
                 "outcome: none reported")
    return "\n".join(lines)
