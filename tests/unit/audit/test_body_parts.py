"""An event's body split around its seq (domain/audit.body_parts): PostgreSQL finishes the
body with the seq it assigns, so the two halves must make exactly the canonical JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signoff.domain.actions import canonical_json
from signoff.domain.audit import AuditEvent, body_parts, event_body, format_at

AT = datetime(2026, 12, 2, 4, 0, 0, 123456, tzinfo=UTC)


def _whole(seq: int, event: AuditEvent) -> bytes:
    return canonical_json({"seq": seq, "at": format_at(event.at), "actor": event.actor,
                           "type": event.type, "action_id": event.action_id,
                           "data": event.data})


@pytest.mark.parametrize("data", [
    {}, {"seq": 0, "type": ',"type":'}, {"note": 'é ✓ "quoted" \\ \u2028'},
    {"nested": {"seq": 9, "list": [1.5, None, True, {"type": "x"}]}},
])
@pytest.mark.parametrize("seq", [1, 10, 9_007_199_254_740_991])
def test_the_halves_around_seq_make_the_canonical_body(data: dict, seq: int) -> None:
    event = AuditEvent(type="action.submitted", actor="agent:bot", at=AT, action_id="act_1",
                       data=data)
    prefix, suffix = body_parts(event)
    assert prefix.endswith(b'"seq":') and suffix.startswith(b',"type":')
    assert prefix + str(seq).encode() + suffix == _whole(seq, event) == event_body(
        seq=seq, event=event)


def test_a_type_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValueError):
        body_parts(AuditEvent(type=5, actor="a", at=AT))  # type: ignore[arg-type]
