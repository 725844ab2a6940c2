"""Compile each rule's CEL once per load, check it, and work out what it reads.

The CEL package parses but does not type-check against declared variables, so a load also:

* refuses variables other than ``action``, ``agent``, ``workflow``, ``requester``, ``now``
  (comprehension variables excepted) and functions the engine does not provide;
* evaluates every rule once on a representative probe input, turning "no such overload"
  (``action.kind > 5``), unknown methods and non-boolean results into load errors. A missing map
  key on the probe is not an error: it is what ``has()`` is for, and it is decided at run time.

It also records, per rule, the field paths the expression reads (``action.kind``,
``action.params.amount`` …) so a decision converts only those into CEL values: converting a
nested dict costs ~2 µs per entry while running a compiled rule costs ~1.5 µs, and agents'
``params`` can be large. And it finds a top-level ``action.kind`` guard (``==``, ``startsWith``,
``in [...]``) so rules for other kinds are skipped without calling CEL; a false conjunct makes a
CEL ``&&`` false whatever the other conjuncts do, so this changes no result.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cel

from .errors import PolicyIssue
from .schema import RuleSpec
from .yamlnodes import locate

__all__ = ["ROOTS", "CompiledRule", "compile_rule", "merge_paths", "split_conjuncts"]

ROOTS = ("action", "agent", "workflow", "requester", "now")
KNOWN_FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
    "bytes", "timestamp", "duration", "type", "dyn", "has", "all", "exists", "exists_one", "map",
    "filter", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate",
    "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
WHOLE: dict[str, Any] = {}  # sentinel: the whole value at this path is needed
PathTree = dict[str, Any]

_STRING = re.compile(r'''[rR]?(?:"""(?:\\.|[^\\])*?"""|\'\'\'(?:\\.|[^\\])*?\'\'\'|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')''', re.S)  # noqa: E501
_REF = re.compile(r"(?<![\w.])(action|agent|workflow)\b((?:\s*\.\s*[A-Za-z_]\w*)*)(\s*\()?")
_COMPREHENSION = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_POS = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
_LIT = r'''(?:"([^"\\]*)"|'([^'\\]*)')'''
_GUARD_EQ = re.compile(rf"^\s*action\.kind\s*==\s*{_LIT}\s*$")
_GUARD_PREFIX = re.compile(rf"^\s*action\.kind\.startsWith\(\s*{_LIT}\s*\)\s*$")
_GUARD_SUFFIX = re.compile(rf"^\s*action\.kind\.endsWith\(\s*{_LIT}\s*\)\s*$")
_GUARD_IN = re.compile(rf"^\s*action\.kind\s+in\s*\[((?:\s*{_LIT}\s*,?)+)\]\s*$")


@dataclass(slots=True)
class CompiledRule:
    spec: RuleSpec
    program: Any
    guard: Callable[[str], bool] | None
    guard_text: str
    paths: dict[str, PathTree]
    conjuncts: tuple[str, ...]
    conjunct_programs: list[Any] = field(default_factory=list)


def blank_strings(src: str) -> str:
    """The source with string literal contents blanked (same length), for lexical analysis."""
    return _STRING.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', src)


def _split_top(src: str, op: str) -> tuple[str, ...] | None:
    """Operands of ``op`` at nesting depth 0; None when ``?:`` (or ``||`` when splitting on
    ``&&``) sits at top level, because then the split would not follow CEL precedence."""
    blank = blank_strings(src)
    depth, cuts, i = 0, [], 0
    while i < len(blank):
        c = blank[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and (c == "?" or op == "&&" and blank.startswith("||", i)):
            return None
        elif depth == 0 and blank.startswith(op, i):
            cuts.append(i)
            i += 1
        i += 1
    parts, start = [], 0
    for cut in cuts:
        parts.append(src[start:cut].strip())
        start = cut + 2
    parts.append(src[start:].strip())
    return tuple(p for p in parts if p)


def split_conjuncts(src: str) -> tuple[str, ...]:
    """Top-level ``&&`` operands, or the whole expression when that would break precedence."""
    return _split_top(src, "&&") or (src.strip(),)


def _unparen(src: str) -> str:
    """``(x)`` -> ``x`` when the parentheses wrap the whole expression."""
    src = src.strip()
    while src.startswith("(") and src.endswith(")"):
        blank, depth = blank_strings(src), 0
        for i, c in enumerate(blank):
            depth += (c in "([{") - (c in ")]}")
            if depth == 0 and i < len(src) - 1:
                return src
        src = src[1:-1].strip()
    return src


def _insert(tree: PathTree, path: list[str]) -> None:
    node = tree
    for i, part in enumerate(path):
        child = node.get(part)
        if child is WHOLE:
            return
        if i == len(path) - 1:
            node[part] = WHOLE
            return
        if child is None:
            child = node[part] = {}
        node = child


def _paths(src: str) -> dict[str, PathTree]:
    """Per root variable, the tree of field paths read; a root read whole maps to WHOLE."""
    out: dict[str, PathTree] = {}
    for m in _REF.finditer(blank_strings(src)):
        root, chain, call = m.group(1), m.group(2), m.group(3)
        parts = [p.strip() for p in chain.split(".")[1:]] if chain else []
        if call and parts:
            parts.pop()
        if out.get(root) is WHOLE:
            continue
        if not parts:
            out[root] = WHOLE
        else:
            _insert(out.setdefault(root, {}), parts)
    return out


def merge_paths(trees: list[dict[str, PathTree]]) -> dict[str, PathTree]:
    """The union of several rules' path trees."""
    out: dict[str, PathTree] = {}

    def walk(tree: PathTree, prefix: list[str], root: str) -> None:
        for key, sub in tree.items():
            if sub is WHOLE:
                if out.get(root) is not WHOLE:
                    _insert(out.setdefault(root, {}), [*prefix, key])
            else:
                walk(sub, [*prefix, key], root)

    for t in trees:
        for root, tree in t.items():
            if tree is WHOLE:
                out[root] = WHOLE
            elif out.get(root) is not WHOLE:
                walk(tree, [], root)
    return out


def _kind_atom(part: str) -> tuple[str, frozenset[str]] | None:
    """("eq"|"prefix"|"suffix", literals) when ``part`` tests ``action.kind`` literally."""
    for op, pattern in (("eq", _GUARD_EQ), ("prefix", _GUARD_PREFIX), ("suffix", _GUARD_SUFFIX)):
        if m := pattern.match(part):
            return op, frozenset({m.group(1) if m.group(1) is not None else m.group(2)})
    if m := _GUARD_IN.match(part):
        return "eq", frozenset(a if a else b for a, b in re.findall(_LIT, m.group(1)))
    return None


def _kind_predicate(part: str) -> Callable[[str], bool] | None:
    """A Python predicate equal to ``part`` when it only tests ``action.kind`` literally; one
    set lookup and two C-level ``startswith``/``endswith`` calls, however many literals."""
    disjuncts = _split_top(_unparen(part), "||")
    if not disjuncts:
        return None
    lits: dict[str, set[str]] = {"eq": set(), "prefix": set(), "suffix": set()}
    for d in disjuncts:
        atom = _kind_atom(_unparen(d))
        if atom is None:
            return None
        lits[atom[0]].update(atom[1])
    eq = frozenset(lits["eq"])
    prefixes, suffixes = tuple(sorted(lits["prefix"])), tuple(sorted(lits["suffix"]))
    return lambda kind: kind in eq or kind.startswith(prefixes) or kind.endswith(suffixes)


def _guard(conjuncts: tuple[str, ...]) -> tuple[Callable[[str], bool] | None, str]:
    for part in conjuncts:
        predicate = _kind_predicate(part)
        if predicate is not None:
            return predicate, " ".join(part.split())
    return None, ""


# The fields whose type signoff fixes (everything under params and labels is the agent's JSON).
_FIELD_TYPES = {
    **{f"action.{f}": "string" for f in ("workflow", "kind", "target", "summary")},
    "action.chain_depth": "int", "action.impact.reversible": "bool",
    "action.impact.external": "bool",
    **{f"agent.{f}": "string" for f in ("id", "name", "owner")},
    **{f"workflow.{f}": "string" for f in ("name", "owner")},
}
_FIELD = r"(?<![\w.])((?:action|agent|workflow)(?:\.\w+)+)(?![\w.(\[])"
_LITERAL = r'("[^"\n]*"|\'[^\'\n]*\'|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?|true|false)(?![\w.(\[])'
_EQ_FIELD_FIRST = re.compile(rf"{_FIELD}\s*(?:==|!=)\s*{_LITERAL}")
_EQ_LITERAL_FIRST = re.compile(rf"(?<![\w.\])\]])\s*{_LITERAL}\s*(?:==|!=)\s*{_FIELD}")


def _literal_type(lit: str) -> str:
    if lit[0] in "\"'":
        return "string"
    if lit in ("true", "false"):
        return "bool"
    return "number"


def _equality_type_error(src: str) -> tuple[tuple[str, str], int] | None:
    """((message, hint), offset) for ``field == literal`` whose types can never be equal.

    CEL's runtime says ``false`` to ``action.chain_depth == "3"`` where its type checker would
    refuse the expression; the package we use has no checker, so the rule would silently never
    match. Ordering (``<``) mixes are already caught by the probe run: they raise."""
    blank = blank_strings(src)
    found = [(m.group(1), m.group(2), m.start(), m.end())
             for m in _EQ_FIELD_FIRST.finditer(blank)]
    found += [(m.group(2), m.group(1), m.start(1), m.end())
              for m in _EQ_LITERAL_FIRST.finditer(blank)]
    for field_path, lit, offset, stop in sorted(found, key=lambda f: f[2]):
        want = _FIELD_TYPES.get(field_path)
        got = _literal_type(lit)
        if want is None or got == want or (want == "int" and got == "number"):
            continue
        shown = " ".join(src[offset:stop].split())
        example = {"string": f'{field_path} == "..."', "int": f"{field_path} == 3",
                   "bool": f"{field_path} == true"}[want]
        article = "an" if want == "int" else "a"
        return (f"CEL type error: {field_path} is {article} {want}, compared with a {got} "
                f"({shown}), so this is never true",
                f"compare like with like, e.g. {example}"), offset
    return None


def _position(src: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``src``."""
    line = src.count("\n", 0, offset) + 1
    return line, offset - (src.rfind("\n", 0, offset) + 1) + 1


def _probe() -> dict[str, Any]:
    return {
        "action": {"workflow": "", "kind": "", "target": "", "params": {}, "summary": "",
                   "impact": {"reversible": True, "external": False}, "chain_depth": 0},
        "agent": {"id": "", "name": "", "owner": "", "labels": {}},
        "workflow": {"name": "", "owner": "", "labels": {}},
        "requester": "",
        "now": datetime(2026, 1, 1, tzinfo=UTC),
    }


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6) or \
        [c for c in choices if c.lower() == name.lower()]
    return f"did you mean {close[0]!r}? " if close else ""


def _issue(rule: RuleSpec, message: str, hint: str, line: int = 1, col: int = 1) -> PolicyIssue:
    """An issue at 1-based (line, col) of the CEL source, placed where that is in the file."""
    lines = rule.when.split("\n")
    offset = sum(len(x) + 1 for x in lines[:max(line - 1, 0)]) + max(col - 1, 0)
    where = locate(rule.when_map, offset)
    if where is not None:
        return PolicyIssue(rule.when_ref.file, message, where[0], where[1], rule.id, hint)
    ref = rule.when_ref
    style = rule.when_style
    if style in ("|", ">"):
        return PolicyIssue(ref.file, message, ref.line + line, ref.column + 2 if col else 0,
                           rule.id, hint)
    shift = 1 if style in ("'", '"') else 0
    column = ref.column + shift + col - 1 if line == 1 else col
    return PolicyIssue(ref.file, message, ref.line + line - 1, column, rule.id, hint)


def compile_rule(rule: RuleSpec) -> tuple[CompiledRule | None, list[PolicyIssue]]:
    """The compiled rule, or the located issues that keep it from compiling."""
    try:
        program = cel.compile(rule.when)
    except Exception as exc:  # the package raises ValueError; anything else is as fatal
        text = str(exc)
        m = _POS.search(text)
        if m:
            msg = m.group(3).split("\n")[0]
            return None, [_issue(rule, f"CEL syntax error: {msg}", "fix the 'when' expression",
                                 int(m.group(1)), int(m.group(2)))]
        return None, [_issue(rule, f"CEL syntax error: {text.splitlines()[0]}",
                             "fix the 'when' expression")]
    blank = blank_strings(rule.when)
    comprehension = set(_COMPREHENSION.findall(blank))
    unknown = [v for v in program.variables() if v not in ROOTS and v not in comprehension]
    if unknown:
        return None, [_issue(rule, f"unknown variable {unknown[0]!r}",
                             _did_you_mean(unknown[0], ROOTS)
                             + "use action, agent, workflow, requester or now")]
    bad = [f for f in program.functions() if f[0].isalpha() and f not in KNOWN_FUNCTIONS]
    if bad:
        return None, [_issue(rule, f"unknown function {bad[0]!r}",
                             _did_you_mean(bad[0], sorted(KNOWN_FUNCTIONS))
                             + "see the CEL standard functions: size, startsWith, matches, …")]
    mismatch = _equality_type_error(rule.when)
    if mismatch:
        (message, hint), offset = mismatch
        return None, [_issue(rule, message, hint, *_position(rule.when, offset))]
    try:
        result = program.execute(cel.Context(_probe()))
    except TypeError as exc:
        return None, [_issue(rule, f"CEL type error: {str(exc).split('.')[0]}",
                             "CEL does not mix types; convert with int(), double() or string()")]
    except RuntimeError as exc:
        msg = str(exc).split(". ")[0]
        if "Undefined" in msg:
            return None, [_issue(rule, f"CEL error: {msg}",
                                 "check the function or field name and its arguments")]
        result = False
    except Exception:  # a missing key or division by zero on the probe: decided at run time
        result = False
    if not isinstance(result, bool):
        return None, [_issue(rule, f"'when' must be true or false, not {type(result).__name__}",
                             'compare the value, e.g. action.kind == "deploy.prod"')]
    conjuncts = split_conjuncts(rule.when)
    guard, guard_text = _guard(conjuncts)
    return CompiledRule(rule, program, guard, guard_text, _paths(rule.when), conjuncts), []
