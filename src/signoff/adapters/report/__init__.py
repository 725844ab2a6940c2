"""Render the evidence report (``signoff.services.evidence.collect``) as HTML or Markdown."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

from signoff.adapters.report.charts import bar_chart, decision_histogram
from signoff.adapters.report.templates import HTML, MARKDOWN

__all__ = ["render_report"]


def _md(value: Any) -> str:
    """A Markdown table cell: no pipes, no newlines, no raw HTML."""
    text = "" if value is None else str(value)
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ")
            .replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;"))


def render_report(data: dict[str, Any], fmt: str) -> str:
    if fmt == "html":
        env = Environment(loader=DictLoader({"r": HTML}), autoescape=True,
                          undefined=StrictUndefined)
        return env.get_template("r").render(
            r=data, tier_chart=bar_chart(data["counts"]["by_tier"], title="Volume by tier"),
            time_chart=decision_histogram(data["decision_times"]))
    env = Environment(loader=DictLoader({"r": MARKDOWN}), autoescape=False,  # noqa: S701
                      undefined=StrictUndefined)
    env.filters["md"] = _md
    return env.get_template("r").render(r=data) + "\n"
