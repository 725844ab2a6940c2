"""A few Prometheus metrics, kept in process (text exposition format 0.0.4)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()

    def count_request(self, method: str, status: int) -> None:
        with self._lock:
            self._requests[(method, status)] += 1

    def render(self, app: Any) -> str:
        lines = ["# HELP signoff_http_requests_total HTTP requests by method and status.",
                 "# TYPE signoff_http_requests_total counter"]
        with self._lock:
            for (method, status), n in sorted(self._requests.items()):
                lines.append(f'signoff_http_requests_total{{method="{method}",'
                             f'status="{status}"}} {n}')
        lines += ["# HELP signoff_waiters Long-poll waiters in this process.",
                  "# TYPE signoff_waiters gauge", f"signoff_waiters {app.hub.waiting}"]
        with app.ctx.uow(readonly=True) as uow:
            counts = uow.actions.count_by_status()
            seq, _ = uow.audit.head()
        lines += ["# HELP signoff_actions Actions by status.", "# TYPE signoff_actions gauge"]
        lines += [f'signoff_actions{{status="{s}"}} {n}' for s, n in sorted(counts.items())]
        lines += ["# HELP signoff_audit_seq Last sealed audit sequence number.",
                  "# TYPE signoff_audit_seq gauge", f"signoff_audit_seq {seq}"]
        return "\n".join(lines) + "\n"
