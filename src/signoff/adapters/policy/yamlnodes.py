"""Read YAML as nodes, so every value keeps the line and column it was written at.

``yaml.safe_load`` forgets positions and silently keeps the last of two equal keys; a policy
error must say where to look, and a duplicated key in a policy is a mistake, not an override.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import PolicyIssue

__all__ = ["Node", "MappingNode", "ScalarNode", "SequenceNode", "compose", "locate", "plain",
           "position", "source_map"]

SourceMap = tuple[tuple[int, int, int], ...]


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) of a node."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def compose(file: str, text: str) -> tuple[Node | None, list[PolicyIssue]]:
    """The document's root node, or the YAML syntax error with its position."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or str(exc)
        context = f" {exc.context}" if exc.context else ""
        return None, [PolicyIssue(file, f"invalid YAML: {problem}{context}", line, col,
                                  hint="fix the YAML syntax (indentation, quotes, colons)")]
    except yaml.YAMLError as exc:
        return None, [PolicyIssue(file, f"invalid YAML: {exc}", 1, 1)]
    if node is None:
        return None, [PolicyIssue(file, "the file is empty", 1, 1,
                                  hint="start the file with 'version: 1'")]
    return node, []


def plain(node: Node) -> Any:
    """The Python value of a node (scalars typed as YAML 1.1 safe-load would type them)."""
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except ConstructorError as exc:
        raise ValueError(str(exc.problem or exc)) from exc


def mapping_items(node: MappingNode) -> list[tuple[str, ScalarNode, Node]]:
    """(key, key node, value node) in file order; keys as written (non-strings stringified)."""
    out = []
    for k, v in node.value:
        key = plain(k) if isinstance(k, ScalarNode) else "<complex key>"
        out.append((str(key), k, v))
    return out


def source_map(node: ScalarNode) -> SourceMap:
    """Where the scalar's value came from: ``(offset in value, line, column)`` per source line.

    A CEL error points into the *value*; a folded (``>-``), literal (``|``), quoted or plain
    multi-line scalar moves its text around (indentation dropped, lines joined), so the file
    position of a value offset is found by locating each source line's text in the value.
    """
    mark, end = node.start_mark, node.end_mark
    if mark.buffer is None or not isinstance(node.value, str):
        return ()
    raw = mark.buffer[mark.pointer:end.pointer]
    block = node.style in ("|", ">")
    out: list[tuple[int, int, int]] = []
    pos = 0
    for i, raw_line in enumerate(raw.split("\n")):
        if i == 0 and block:  # the indicator line (">-", "|") holds no value text
            continue
        lead = len(raw_line) - len(raw_line.lstrip())
        text = raw_line.strip()
        if node.style in ("'", '"'):
            if i == 0 and text.startswith(node.style):
                text, lead = text[1:], lead + 1
            if text.endswith(node.style) and not text.endswith("\\" + node.style):
                text = text[:-1]
            # Escapes make the value shorter than the source: columns after one on the same
            # line are off by a character or two, the line is still right.
            text = text.replace("\\\"", '"') if node.style == '"' else text.replace("''", "'")
        found = node.value.find(text, pos) if text else -1
        if found >= 0:
            out.append((found, mark.line + 1 + i, (mark.column if i == 0 else 0) + lead + 1))
            pos = found + len(text)
    return tuple(out)


def locate(smap: SourceMap, offset: int) -> tuple[int, int] | None:
    """1-based (line, column) in the file of a 0-based offset into the value."""
    best = None
    for start, line, column in smap:
        if start <= offset:
            best = (line, column + offset - start)
    return best
