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

__all__ = ["Node", "MappingNode", "ScalarNode", "SequenceNode", "compose", "plain", "position"]


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
