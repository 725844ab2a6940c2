"""Rewrite rules so the fields they read are top-level CEL variables: a faster context.

Measured with the CEL package: converting a nested dict into a CEL context costs ~5 µs per map
plus ~2 µs per entry, while a top-level variable costs ~0.5 µs. ``action.kind``,
``action.params.amount`` and ``action.impact.external`` as three nested lookups cost more than
running all the compiled rules of the default policy, so each rule is compiled a second time
with every static field path replaced by one variable (``action.params.amount`` ->
``_sx_v_action_0params_0amount``), and ``has(action.params.x)`` by ``("x" in K)`` where K is
the list of the keys of ``action.params`` that some rule tests with ``has()`` and the input has
(one small list per parent map, however many ``has()`` tests there are).

Semantics are unchanged, including failure: a path that is missing on the input leaves its
variable undefined, and CEL treats an undefined variable exactly like a missing key (an error,
absorbed by ``true ||`` / ``false &&`` the same way), so such a rule still counts as matched at
critical. A path under a whole-value read (``size(action.params)``, ``action.params["k"]``,
``action.params.items.exists(...)``) becomes one variable holding that whole value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .compiler import WHOLE, PathTree, blank_strings

__all__ = ["FlatPlan", "flat_variables", "plan_rewrite", "readable"]

_ROOT = re.compile(r"(?<![\w.])(action|agent|workflow)\b")
_SELECT = re.compile(r"\s*\.\s*([A-Za-z_]\w*)")
_HAS_BEFORE = re.compile(r"(?<![\w.])has\s*\(\s*$")
_NAME = re.compile(r"_sx_[hv]_\w+")
_UNDEFINED = re.compile(r"^RuntimeError: Undefined variable or function: '(_sx_([hv])_\w+)'$")


def _encode(kind: str, root: str, parts: tuple[str, ...]) -> str:
    return f"_sx_{kind}_" + "_0".join(p.replace("_", "_1") for p in (root, *parts))


@dataclass(slots=True)
class FlatPlan:
    """Which variables a decision must compute, and their dotted names for error messages."""

    leaves: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    has: dict[str, tuple[str, tuple[str, ...], set[str]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def plan_rewrite(src: str, tree: dict[str, PathTree], plan: FlatPlan) -> str:
    """``src`` with static paths replaced by flat variables (registered in ``plan``)."""
    blank = blank_strings(src)
    edits: list[tuple[int, int, str]] = []
    for m in _ROOT.finditer(blank):
        root, pos = m.group(1), m.end()
        parts: list[str] = []
        ends: list[int] = []
        while sel := _SELECT.match(blank, pos):
            parts.append(sel.group(1))
            pos = sel.end()
            ends.append(pos)
        rest = blank[pos:].lstrip()
        if parts and rest.startswith("("):  # a method call: its name is not a field
            parts.pop()
            ends.pop()
        end = ends[-1] if ends else m.end()
        if parts and _HAS_BEFORE.search(blank, 0, m.start()) and blank[end:].lstrip()[:1] == ")":
            has_start = _HAS_BEFORE.search(blank, 0, m.start())
            close = blank.index(")", end) + 1
            name = _encode("h", root, tuple(parts[:-1]))
            plan.has.setdefault(name, (root, tuple(parts[:-1]), set()))[2].add(parts[-1])
            plan.names[name] = ".".join([root, *parts[:-1]])
            edits.append((has_start.start() if has_start else m.start(), close,
                          f'("{parts[-1]}" in {name})'))
            continue
        node: Any = tree.get(root)
        depth = 0
        if node is not WHOLE:
            for i, part in enumerate(parts):
                node = node.get(part) if isinstance(node, dict) else None
                if node is WHOLE:
                    depth = i + 1
                    break
            else:
                raise ValueError(f"path {root}.{'.'.join(parts)} is not in the path tree")
        name = _encode("v", root, tuple(parts[:depth]))
        plan.leaves[name] = (root, tuple(parts[:depth]))
        plan.names[name] = ".".join([root, *parts[:depth]])
        edits.append((m.start(), end, name + "".join(f".{p}" for p in parts[depth:])))
    out = src
    for start, stop, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[stop:]
    return out


def flat_variables(roots: dict[str, Any], plan: FlatPlan) -> dict[str, Any]:
    """The flat variables for one input; a path missing on the input stays undefined."""
    out: dict[str, Any] = {}
    for name, (root, parts) in plan.leaves.items():
        value = roots.get(root)
        for part in parts:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            out[name] = value
    for name, (root, parents, keys) in plan.has.items():
        value = roots.get(root)
        for part in parents:
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if isinstance(value, dict):
            out[name] = [k for k in keys if k in value]
    return out


def readable(text: str, plan: FlatPlan) -> str:
    """An error message with flat variable names turned back into the paths the author wrote."""
    m = _UNDEFINED.match(text)
    if m and m.group(1) in plan.names:
        path = plan.names[m.group(1)]
        if m.group(2) == "h":
            return f"has() on {path}, which the input lacks or is not a map"
        return f"no such key: {path}"
    return _NAME.sub(lambda m: plan.names.get(m.group(0), m.group(0)), text)
