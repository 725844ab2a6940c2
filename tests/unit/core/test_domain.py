"""Pure domain rules: digest, input shape, quorum, review rules, sampling."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from signoff.domain.actions import ActionStatus, check_params_shape, compute_digest
from signoff.domain.approvals import (
    EligibleFactor,
    ReviewSubject,
    Verdict,
    check_review,
    in_post_review_sample,
    quorum_state,
)
from signoff.domain.policy import Tier
from signoff.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    RationaleRequired,
    ReviewTooSoon,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_digest_is_sha256_of_rfc8785_canonical_json() -> None:
    expected_body = b'{"kind":"k","params":{"a":1,"b":[1.5,"x"]},"target":"t","workflow":"w"}'
    digest = compute_digest("w", "k", "t", {"b": [1.5, "x"], "a": 1})
    assert digest == "sha256:" + hashlib.sha256(expected_body).hexdigest()


def test_digest_changes_with_any_executable_field() -> None:
    base = compute_digest("w", "k", "t", {"a": 1})
    assert len({base, compute_digest("w2", "k", "t", {"a": 1}),
                compute_digest("w", "k2", "t", {"a": 1}),
                compute_digest("w", "k", "t2", {"a": 1}),
                compute_digest("w", "k", "t", {"a": 2})}) == 5
    # Key order and number spelling do not matter: the canonical form does.
    assert compute_digest("w", "k", "t", {"x": 1.0, "y": 2}) == \
        compute_digest("w", "k", "t", {"y": 2, "x": 1})


def test_params_shape_limits() -> None:
    check_params_shape({"a": [1, {"b": 2}]}, max_bytes=1000, max_depth=5)
    with pytest.raises(PayloadTooLarge):
        check_params_shape({"a": "x" * 2000}, max_bytes=1000, max_depth=5)
    deep: dict = {}
    cur = deep
    for _ in range(10):
        cur["n"] = {}
        cur = cur["n"]
    with pytest.raises(InvalidRequest) as err:
        check_params_shape(deep, max_bytes=10_000, max_depth=5)
    assert err.value.extra["field"] == "params"
    with pytest.raises(InvalidRequest):
        check_params_shape([1, 2], max_bytes=1000, max_depth=5)  # type: ignore[arg-type]


def f(label: str, pool: set[str], count: int = 1) -> EligibleFactor:
    return EligibleFactor(label, frozenset(pool), count)


def test_quorum_counts_each_person_once_and_across_factors() -> None:
    owner_and_security = [f("owner", {"olivia"}), f("group:security", {"olivia", "sid"})]
    one_person = quorum_state(owner_and_security, ["olivia"], tier=Tier.HIGH,
                              agent_owner_id="x")
    assert not one_person.met and one_person.short_by == 1
    both = quorum_state(owner_and_security, ["sid", "olivia"], tier=Tier.HIGH,
                        agent_owner_id="x")
    assert both.met and both.short_by == 0
    twice = quorum_state([f("reviewers", {"a", "b"}, 2)], ["a", "a"], tier=Tier.HIGH,
                         agent_owner_id="x")
    assert twice.short_by == 1


def test_quorum_matching_reassigns_to_fill_every_factor() -> None:
    # "a" could fill either factor; "b" only the first: a maximum matching finds the fill.
    factors = [f("first", {"a", "b"}), f("second", {"a"})]
    assert quorum_state(factors, ["a", "b"], tier=Tier.HIGH, agent_owner_id="x").met


def test_critical_quorum_never_met_by_the_agents_owner_alone() -> None:
    factors = [f("owner", {"ash", "rita"})]
    alone = quorum_state(factors, ["ash"], tier=Tier.CRITICAL, agent_owner_id="ash")
    assert not alone.met and alone.short_by == 1
    assert quorum_state(factors, ["ash"], tier=Tier.HIGH, agent_owner_id="ash").met
    assert quorum_state(factors, ["ash", "rita"], tier=Tier.CRITICAL, agent_owner_id="ash").met


def subject(**over: object) -> ReviewSubject:
    base = dict(status=ActionStatus.PENDING, tier=Tier.HIGH,
                factors=(f("reviewers", {"rita", "sid", "olivia"}),), on_behalf_of="olivia",
                agent_owner_id="ash", min_review_seconds=15, rationale_required=True,
                reviewed_by=frozenset())
    base.update(over)
    return ReviewSubject(**base)  # type: ignore[arg-type]


def review(s: ReviewSubject, who: str = "rita", verdict: Verdict = Verdict.APPROVE,
           rationale: str = "checked the diff and the rollback plan",
           viewed: datetime | None = NOW - timedelta(seconds=20)) -> None:
    check_review(s, reviewer_id=who, verdict=verdict, rationale=rationale,
                 first_viewed_at=viewed, now=NOW)


def test_review_rules() -> None:
    review(subject())
    with pytest.raises(Forbidden):
        review(subject(), who="mallory")
    with pytest.raises(Forbidden):
        review(subject(), who="olivia")  # on_behalf_of cannot approve
    review(subject(), who="olivia", verdict=Verdict.REJECT)  # but may veto
    with pytest.raises(Conflict):
        review(subject(reviewed_by=frozenset({"rita"})))
    with pytest.raises(Conflict):
        review(subject(status=ActionStatus.APPROVED))
    with pytest.raises(RationaleRequired):
        review(subject(), rationale="ok")
    review(subject(rationale_required=False), rationale="")


def test_min_review_seconds_counts_from_first_view() -> None:
    with pytest.raises(ReviewTooSoon) as early:
        review(subject(), viewed=NOW - timedelta(seconds=10))
    assert early.value.extra["seconds_left"] == 5
    with pytest.raises(ReviewTooSoon) as unseen:
        review(subject(), viewed=None)
    assert unseen.value.extra["seconds_left"] == 15
    review(subject(), viewed=NOW - timedelta(seconds=15))


def test_post_review_sampling_is_deterministic_and_near_the_rate() -> None:
    ids = [f"act_{i}" for i in range(20_000)]
    picked = [i for i in ids if in_post_review_sample(i, 0.1)]
    assert 1700 < len(picked) < 2300
    assert picked == [i for i in ids if in_post_review_sample(i, 0.1)]
    assert not in_post_review_sample("x", 0) and in_post_review_sample("x", 1)
