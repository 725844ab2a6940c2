"""RFC 8785 (JCS) canonical JSON: the one serialisation that is hashed and signed.

Most values signoff canonicalises (payload digests, audit event bodies) hold only objects with
ASCII keys, arrays, strings, booleans, null and safe integers. For those, the standard library's
C encoder with sorted keys, no whitespace and no ASCII escaping already writes the RFC 8785
bytes, about ten times faster than the ``rfc8785`` package: both escape exactly ``"``, ``\\``
and the control characters (lower-case ``\\u00xx``), and sort ASCII keys identically. Anything
else goes to ``rfc8785``: floats (ECMAScript number formatting), integers beyond 2**53 (refused),
non-ASCII keys (RFC 8785 sorts by UTF-16 code units, Python by code points) and types JSON does
not have. tests/unit/core/test_canonical.py checks the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

_SAFE_INT = 2**53 - 1
_MAX_NODES = 100_000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                           allow_nan=False, check_circular=False).encode


def canonical_json(value: Any) -> bytes:
    if _plain(value):
        try:
            return _encode(value).encode()
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """True when the fast encoder's output is the RFC 8785 form (iterative: input may be deep)."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    budget = _MAX_NODES  # a huge (or, from Python code, circular) value takes the slow path
    while stack:
        budget -= 1
        if budget < 0:
            return False
        v = pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if -_SAFE_INT <= v <= _SAFE_INT:
                continue
            return False
        if t is dict:
            for k in v:
                if type(k) is not str or not k.isascii():
                    return False
            extend(v.values())
            continue
        if t is list or t is tuple:
            extend(v)
            continue
        return False
    return True
