"""Reviewer-deception checks: make hidden text visible and spot summaries that lie.

Everything an agent hands a reviewer is untrusted. Escaping stops it from running in the page,
but text can still mislead a human who reads it:

- invisible and format characters (zero-width spaces, word joiners, tag characters), control
  characters and bidirectional overrides (``U+202E`` turns ``txt.exe`` into ``exe.txt``);
- confusables: letters that look Latin but are not (Cyrillic ``а`` in ``pаypal.com``), and
  fullwidth or mathematical letters that read as ASCII;
- a summary that names an amount, a recipient or a target the payload does not contain.

:func:`reveal` splits a text into plain runs and markers (``⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧``)
that a template renders as separate, styled, escaped spans, so a hidden character can neither
hide nor take effect. Standard library only; the scan visits only non-ASCII and control
characters, so a 1 MB ASCII string costs one regular-expression pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Finding",
    "Revealed",
    "Segment",
    "flatten",
    "mismatches",
    "reveal",
]

_CANDIDATE = re.compile(r"[^\x20-\x7e\n\t]")          # anything not printable ASCII
_NON_ASCII_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")
_INVISIBLE_EXTRA = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x034F}
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of ordinary text, or a marker standing for one suspicious character."""

    text: str
    mark: str = ""      # non-empty: render ``mark`` as a flagged marker
    keep: bool = False  # a confusable: ``text`` is shown too, followed by the marker


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str           # "bidi", "invisible", "control", "confusable"
    codepoint: str      # "U+202E"
    name: str
    offset: int


@dataclass(slots=True)
class Revealed:
    segments: list[Segment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    length: int = 0

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


def _name(ch: str) -> str:
    return unicodedata.name(ch, "") or f"<{unicodedata.category(ch)}>"


def _classify(ch: str) -> str | None:
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if unicodedata.bidirectional(ch) in {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI",
                                          "PDI"} or cp in (0x200E, 0x200F, 0x061C):
        return "bidi"
    if cat in ("Cc",) or cp in (0x2028, 0x2029):
        return "control"
    if cat in ("Cf", "Co", "Cn", "Cs") or cp in _INVISIBLE_EXTRA:
        return "invisible"
    if cat == "Zs" or (cat == "Mn" and (0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF)):
        return "invisible"   # odd spaces and variation selectors look like nothing
    if ch.isalnum() and cp > 0x7F:
        folded = unicodedata.normalize("NFKC", ch)
        if folded.isascii() and folded.isalnum():
            return "confusable"   # fullwidth / mathematical letters that read as ASCII
    return None


def _script(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    for script in _SCRIPTS:
        if name.startswith(script):
            return script
    return None


def _mixed_script_offsets(text: str) -> set[int]:
    """Offsets of non-Latin letters inside a word that also holds Latin letters."""
    out: set[int] = set()
    for match in _NON_ASCII_WORD.finditer(text):
        word = match.group()
        scripts = {_script(c) for c in word if c.isalpha()}
        scripts.discard(None)
        if "LATIN" in scripts and len(scripts) > 1:
            out.update(match.start() + i for i, c in enumerate(word)
                       if c.isalpha() and _script(c) not in (None, "LATIN"))
    return out


def reveal(text: str) -> Revealed:
    """Split ``text`` into plain runs and markers for every suspicious character."""
    result = Revealed(length=len(text))
    if not text:
        return result
    mixed = _mixed_script_offsets(text) if not text.isascii() else set()
    start = 0
    for match in _CANDIDATE.finditer(text):
        i, ch = match.start(), match.group()
        kind = _classify(ch)
        if kind is None and i in mixed:
            kind = "confusable"
        if kind is None:
            continue
        if ch == "\r" and text[i + 1:i + 2] == "\n":
            continue   # an ordinary Windows line ending
        code = f"U+{ord(ch):04X}"
        result.findings.append(Finding(kind=kind, codepoint=code, name=_name(ch), offset=i))
        if i > start:
            result.segments.append(Segment(text=text[start:i]))
        keep = kind == "confusable"
        result.segments.append(Segment(text=ch if keep else "", keep=keep,
                                       mark=f"⟦{code} {_name(ch)}⟧"))
        start = i + 1
    if start < len(text):
        result.segments.append(Segment(text=text[start:]))
    return result


# --- summary versus payload -------------------------------------------------------------------

_CURRENCY = r"(?:[$€£¥₹]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|dollars?|euros?|pounds?)\b)"
_NUMBER = r"\d{1,3}(?:[,\s]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?(?P<a>{_NUMBER})|(?P<b>{_NUMBER})\s?{_CURRENCY}",
                     re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_HOST = re.compile(r"https?://([^/\s:?#]+)", re.IGNORECASE)
_AMOUNT_KEYS = re.compile(r"amount|total|sum|value|price|quantity", re.IGNORECASE)


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a JSON value with their paths (``params.items[0].sku``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _decimal(raw: str) -> Decimal | None:
    try:
        return Decimal(re.sub(r"[,\s]", "", raw))
    except InvalidOperation:
        return None


def mismatches(summary: str, *, params: dict[str, Any], target: str,
               scan_limit: int = 200_000) -> list[str]:
    """Warnings where the summary names amounts, recipients or targets the payload lacks.

    The summary is what the AI says it will do; the params are what will execute. A reviewer
    who reads "refund €120" must learn that the payload says 12000.
    """
    text = summary[:scan_limit]
    leaves = list(flatten(params))
    strings = [str(v) for _, v in leaves if isinstance(v, str)] + [target]
    haystack = "\n".join(strings).lower()
    numbers: set[Decimal] = set()
    for _, v in leaves:
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float):
            numbers.add(Decimal(str(v)))
        elif isinstance(v, str) and re.fullmatch(_NUMBER, v.strip()):
            parsed = _decimal(v.strip())
            if parsed is not None:
                numbers.add(parsed)
    warnings: list[str] = []
    said: set[Decimal] = set()
    for match in _AMOUNT.finditer(text):
        raw = match.group("a") or match.group("b")
        value = _decimal(raw)
        if value is None:
            continue
        said.add(value)
        if value not in numbers:
            warnings.append(f"the summary names the amount {match.group().strip()}, "
                            "which is not in the payload")
    if said:
        for path, v in leaves:
            if isinstance(v, int | float) and not isinstance(v, bool) \
                    and _AMOUNT_KEYS.search(path) and Decimal(str(v)) not in said:
                warnings.append(f"the payload's {path} is {v}, an amount the summary never "
                                "names")
    for email in dict.fromkeys(m.group() for m in _EMAIL.finditer(text)):
        if email.lower() not in haystack:
            warnings.append(f"the summary names the recipient {email}, who is not in the "
                            "payload")
    for host in dict.fromkeys(m.group(1) for m in _URL_HOST.finditer(text)):
        if host.lower() not in haystack:
            warnings.append(f"the summary links to {host}, which is not in the payload")
    warnings.extend(_target_mismatch(text, target, haystack))
    return list(dict.fromkeys(warnings))


def _target_mismatch(text: str, target: str, haystack: str) -> list[str]:
    """The summary names something shaped like the target (same prefix) but different."""
    prefix = re.match(r"[A-Za-z]+[_\-/:.]", target)
    if not prefix or target in text:
        return []
    pattern = re.compile(re.escape(prefix.group()) + r"[\w\-/:.]+")
    named = [m.group().rstrip(".:") for m in pattern.finditer(text)]
    return [f"the summary names {n}, but the target is {target}"
            for n in dict.fromkeys(named) if n != target and n.lower() not in haystack]
