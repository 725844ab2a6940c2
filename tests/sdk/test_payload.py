from __future__ import annotations

import hashlib
import json

import pytest

from signoff.client import compute_digest
from signoff.client.payload import to_json_value
from signoff.domain.actions import compute_digest as server_digest
from signoff.errors import InvalidRequest


def test_digest_is_sha256_of_jcs_and_matches_the_server() -> None:
    params = {"currency": "EUR", "amount": 120, "note": "é", "nested": {"b": [1, 2.5], "a": None}}
    canonical = json.dumps(
        {"kind": "payments.send", "params": {"amount": 120, "currency": "EUR",
                                             "nested": {"a": None, "b": [1, 2.5]}, "note": "é"},
         "target": "cus_42", "workflow": "refunds"},
        separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    expected = "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert compute_digest("refunds", "payments.send", "cus_42", params) == expected
    assert server_digest("refunds", "payments.send", "cus_42", params) == expected


def test_tuples_hash_like_lists() -> None:
    assert compute_digest("w", "k", "t", {"x": (1, 2)}) == compute_digest("w", "k", "t",
                                                                          {"x": [1, 2]})


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"when": object()}, "params.when"),
        ({"deep": {"set": {1, 2}}}, "params.deep.set"),
        ({"n": float("nan")}, "params.n"),
        ({"big": 2**60}, "params.big"),
        ({1: "int key"}, "params"),
        ({"items": [1, b"bytes"]}, "params.items[1]"),
    ],
)
def test_values_json_cannot_carry_are_named(value: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        to_json_value(value)
    assert info.value.extra["field"] == field
    assert field in str(info.value)
