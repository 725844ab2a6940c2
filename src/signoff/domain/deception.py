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

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_FINDINGS",
    "Finding",
    "Revealed",
    "Segment",
    "flatten",
    "mismatches",
    "reveal",
]

_INVISIBLE_EXTRA = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E, 0x034F}
MAX_FINDINGS = 2000
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
    more: int = 0       # hidden characters past the itemised findings (plain markers)

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


def _name(ch: str) -> str:
    return unicodedata.name(ch, "") or f"<{unicodedata.category(ch)}>"


@functools.lru_cache(maxsize=4096)
def _classify(ch: str) -> str | None:
    if ch in "\n\t" or " " <= ch <= "~":
        return None
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


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    for script in _SCRIPTS:
        if name.startswith(script):
            return script
    return None


_LETTERS_BEFORE = re.compile(r"[^\W\d_]{1,64}\Z")
_LETTERS_FROM = re.compile(r"[^\W\d_]{1,64}")


def _word_scripts(text: str, i: int) -> tuple[int, set[str | None]]:
    """Scripts of the letters around offset ``i`` (at most 64 each side); and where that ends."""
    before = _LETTERS_BEFORE.search(text, max(0, i - 64), i)
    after = _LETTERS_FROM.match(text, i)
    lo = before.start() if before else i
    hi = after.end() if after else i + 1
    return hi, {_script(c) for c in set(text[lo:hi])}


def _interesting(text: str) -> re.Pattern[str] | None:
    """A character class of the distinct characters of ``text`` worth a look, or None."""
    chars = sorted(c for c in set(text) if (c == "\r" or _classify(c) is not None
                                            or (c.isalpha() and _script(c) not in
                                                (None, "LATIN"))))
    if not chars:
        return None
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def reveal(text: str, *, max_findings: int = MAX_FINDINGS) -> Revealed:
    """Split ``text`` into plain runs and markers for every suspicious character.

    Past ``max_findings`` the rest of the text is one run in which every hidden or control
    character is still replaced, by plain ``⟦U+202E⟧``-style text (``more`` counts them), so a
    megabyte of bidi controls costs one substitution pass, not a million objects.
    """
    result = Revealed(length=len(text))
    pattern = _interesting(text) if text else None
    if pattern is None:
        if text:
            result.segments.append(Segment(text=text))
        return result
    start, window_end, window_mixed = 0, -1, False
    match = pattern.search(text)
    while match is not None:
        i, ch = match.start(), match.group()
        kind = _classify(ch)
        if kind is None and ch.isalpha():
            if i >= window_end:   # letters of another script in a Latin word: a look-alike
                window_end, scripts = _word_scripts(text, i)
                scripts.discard(None)
                window_mixed = "LATIN" in scripts and len(scripts) > 1
                if not window_mixed:   # nothing to flag in this word: skip past it
                    match = pattern.search(text, window_end)
                    continue
            if window_mixed:
                kind = "confusable"
        match = pattern.search(text, i + 1)
        if kind is None or (ch == "\r" and text[i + 1:i + 2] == "\n"):
            continue   # an innocent letter, or an ordinary Windows line ending
        if len(result.findings) >= max_findings:
            result.segments.append(Segment(text=_plain_markers(text[start:], result)))
            return result
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


def _plain_markers(rest: str, result: Revealed) -> str:
    table = {c: f"⟦U+{ord(c):04X}⟧" for c in set(rest)
             if c != "\r" and _classify(c) not in (None, "confusable")}
    if table:
        rest, n = re.subn("[" + "".join(re.escape(c) for c in table) + "]",
                          lambda m: table[m.group()], rest)
        result.more += n
    rest, n = re.subn(r"\r(?!\n)", "⟦U+000D⟧", rest)
    result.more += n
    return rest


# --- summary versus payload -------------------------------------------------------------------

_CURRENCY = r"(?:[$€£¥₹]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|dollars?|euros?|pounds?)\b)"
# Bounded repetitions everywhere: a hostile 1 MB run of digits or letters stays linear.
_NUMBER = r"\d{1,3}(?:[,\s]\d{3}){1,6}(?:\.\d{1,6})?|\d{1,18}(?:\.\d{1,6})?"
_CURRENCY_RE = re.compile(_CURRENCY, re.IGNORECASE)
_NUM_AFTER = re.compile(rf"\s?({_NUMBER})")
_NUM_BEFORE = re.compile(rf"(?<![\d.,])({_NUMBER})\s?$")
_LOCAL_PART = re.compile(r"[\w.+-]{1,64}$")
_DOMAIN = re.compile(r"[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_MAX_MENTIONS = 500
_URL_HOST = re.compile(r"https?://([^/\s:?#]{1,253})", re.IGNORECASE)
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
    for shown, raw in _amounts(text):
        if not raw:
            warnings.append(shown)
            continue
        value = _decimal(raw)
        if value is None:
            continue
        said.add(value)
        if value not in numbers:
            warnings.append(f"the summary names the amount {shown}, which is not in the payload")
    if said:
        for path, v in leaves:
            if isinstance(v, int | float) and not isinstance(v, bool) \
                    and _AMOUNT_KEYS.search(path) and Decimal(str(v)) not in said:
                warnings.append(f"the payload's {path} is {v}, an amount the summary never "
                                "names")
    for email in dict.fromkeys(_emails(text)):
        if not email:
            warnings.append(f"the summary names more than {_MAX_MENTIONS} addresses; not all "
                            "were checked")
            continue
        if email.lower() not in haystack:
            warnings.append(f"the summary names the recipient {email}, who is not in the "
                            "payload")
    for host in dict.fromkeys(m.group(1) for m in _URL_HOST.finditer(text)):
        if host.lower() not in haystack:
            warnings.append(f"the summary links to {host}, which is not in the payload")
    warnings.extend(_target_mismatch(text, target, haystack))
    return list(dict.fromkeys(warnings))


def _amounts(text: str) -> Iterator[tuple[str, str]]:
    """(as written, the number) for each currency mention with a number beside it."""
    for count, m in enumerate(_CURRENCY_RE.finditer(text)):
        if count >= _MAX_MENTIONS:
            yield f"the summary names more than {_MAX_MENTIONS} amounts; not all were checked", ""
            return
        after = _NUM_AFTER.match(text, m.end())
        if after:
            yield text[m.start():after.end()], after.group(1)
            continue
        window = text[max(0, m.start() - 40):m.start()]
        before = _NUM_BEFORE.search(window)
        if before:
            yield (window[before.start():] + m.group()).strip(), before.group(1)


def _emails(text: str) -> Iterator[str]:
    at, count = text.find("@"), 0
    while at != -1:
        count += 1
        if count > _MAX_MENTIONS:
            yield ""   # too many to check: said so below
            return
        local = _LOCAL_PART.search(text, max(0, at - 64), at)
        domain = _DOMAIN.match(text, at + 1)
        if local and domain:
            yield text[local.start():domain.end()]
        at = text.find("@", at + 1)


def _target_mismatch(text: str, target: str, haystack: str) -> list[str]:
    """The summary names something shaped like the target (same prefix) but different."""
    prefix = re.match(r"[A-Za-z]+[_\-/:.]", target)
    if not prefix:
        return []
    # Whole names are compared, not substrings: "prod/api-v2" contains "prod/api" but is not it.
    pattern = re.compile(re.escape(prefix.group()) + r"[\w\-/:.]{1,200}")
    named = [m.group().rstrip(".:") for m in pattern.finditer(text)]
    return [f"the summary names {n}, but the target is {target}"
            for n in dict.fromkeys(named) if n != target and n.lower() not in haystack]
