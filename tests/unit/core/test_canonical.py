"""The fast canonical encoder must write exactly what the rfc8785 package writes."""

from __future__ import annotations

import random
from typing import Any

import pytest
import rfc8785

from signoff.domain.canonical import _plain, canonical_json

TRICKY = ['', '"', '\\', '\x00', '\x1f', '\x7f', '\u2028', '\u2029', '\ufeff', 'é', '日本',
          '\U0001f600', '\ue000', '/', '<script>', '\b\f\n\r\t', 'a"b\\c']
KEYS = ['', 'a', 'A', 'b', 'aa', 'a b', '_', '~', '0', '10', '9', 'Z', 'z', '\x01', '"q']


def value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.choice([0, 1, -1, 2**53 - 1, -(2**53 - 1), 10**15, rng.randrange(-10**9,
                                                                                    10**9)])
    if pick in (2, 3):
        return "".join(rng.choice(TRICKY + ["x", "y", "1"]) for _ in range(rng.randrange(4)))
    if pick == 4:
        return rng.choice([0.5, 1.0, -0.0, 1e21, 1e-7, 123.456, 1e16]) if rng.random() < 0.2 \
            else rng.randrange(100)
    if pick in (5, 6):
        keys = rng.sample(KEYS, rng.randrange(len(KEYS)))
        if rng.random() < 0.1:
            keys.append(rng.choice(['é', '\U0001f600', '\ue000', 'ÿ']))
        return {k: value(rng, depth + 1) for k in keys}
    return [value(rng, depth + 1) for _ in range(rng.randrange(5))]


def test_agrees_with_rfc8785_on_generated_values() -> None:
    rng = random.Random(8785)
    fast = 0
    for _ in range(5000):
        v = value(rng)
        fast += _plain(v)
        assert canonical_json(v) == rfc8785.dumps(v), v
    assert fast > 2500  # most cases must exercise the fast path, or this test proves little


def test_typical_payloads_take_the_fast_path() -> None:
    payload = {"workflow": "refunds", "kind": "payments.send", "target": "cus_1",
               "params": {"amount": 1200, "currency": "EUR", "note": "Rückerstattung \u202e"}}
    assert _plain(payload)
    assert canonical_json(payload) == rfc8785.dumps(payload)


@pytest.mark.parametrize("v", [{"f": 1.0}, {"é": 1, "e": 2}, {"\U0001f600": 1, "\ue000": 2},
                               [2**53 - 1, 1e21], {"k": (1, "x")}])
def test_the_slow_path_cases_still_agree(v: Any) -> None:
    assert canonical_json(v) == rfc8785.dumps(v)


@pytest.mark.parametrize("v", [{"n": 2**53}, {"n": float("nan")}, {"s": "\ud800"}, {1: "x"},
                               {"o": object()}])
def test_what_rfc8785_refuses_is_refused(v: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 - whichever error rfc8785 raises
        canonical_json(v)


def test_a_circular_value_does_not_hang() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(RecursionError):
        canonical_json(loop)
