"""Reviewer-deception detection: hidden characters made visible, summaries that lie."""

from __future__ import annotations

import time

from signoff.domain.deception import flatten, mismatches, reveal


def _visible(text: str) -> str:
    return "".join(s.text + s.mark if s.keep else (s.mark or s.text) for s in reveal(text).segments)


def test_plain_ascii_is_untouched() -> None:
    r = reveal("Deploy api v1.2.3 to prod\n\tnow")
    assert not r.flagged
    assert _visible("Deploy api v1.2.3 to prod\n\tnow") == "Deploy api v1.2.3 to prod\n\tnow"


def test_bidi_override_is_replaced_by_a_marker() -> None:
    text = "invoice\u202egnp.exe"
    r = reveal(text)
    assert r.kinds == ["bidi"]
    assert r.findings[0].codepoint == "U+202E" and r.findings[0].offset == 7
    shown = _visible(text)
    assert "\u202e" not in shown
    assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in shown
    assert shown.startswith("invoice") and shown.endswith("gnp.exe")


def test_isolates_and_marks_count_as_bidi() -> None:
    assert reveal("a\u2067b\u2069c\u200fd").kinds == ["bidi"]
    assert len(reveal("a\u2067b\u2069c\u200fd").findings) == 3


def test_invisible_and_control_characters() -> None:
    r = reveal("pay\u200bpal \ufeff x\u00a0y \x07 \U000e0041 \u3164")
    kinds = {f.codepoint: f.kind for f in r.findings}
    assert kinds["U+200B"] == "invisible"
    assert kinds["U+FEFF"] == "invisible"
    assert kinds["U+00A0"] == "invisible"
    assert kinds["U+0007"] == "control"
    assert kinds["U+E0041"] == "invisible"
    assert kinds["U+3164"] == "invisible"


def test_crlf_is_not_flagged_but_lone_cr_is() -> None:
    assert not reveal("a\r\nb").flagged
    assert reveal("a\rb").kinds == ["control"]


def test_mixed_script_confusables_are_kept_and_flagged() -> None:
    text = "send to p\u0430ypal.com"   # Cyrillic a
    r = reveal(text)
    assert r.kinds == ["confusable"]
    assert r.findings[0].codepoint == "U+0430"
    shown = _visible(text)
    assert "\u0430⟦U+0430 CYRILLIC SMALL LETTER A⟧" in shown


def test_whole_words_in_other_scripts_are_fine() -> None:
    assert not reveal("Привет, мир — Καλημέρα, café, naïve, 東京").flagged


def test_fullwidth_and_math_letters_are_confusable() -> None:
    assert reveal("\uff41dmin").kinds == ["confusable"]
    assert reveal("\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427").kinds == ["confusable"]


def test_segments_reassemble_everything_but_the_hidden_characters() -> None:
    text = "a\u202eb\u200bc"
    r = reveal(text)
    assert "".join(s.text for s in r.segments) == "abc"
    assert r.length == len(text)


def test_one_megabyte_is_fast_and_complete() -> None:
    text = "x" * 1_000_000 + "\u202e" + "y" * 10
    started = time.perf_counter()
    r = reveal(text)
    assert time.perf_counter() - started < 1.0
    assert r.length == 1_000_011
    assert sum(len(s.text) for s in r.segments) == 1_000_010
    assert [f.offset for f in r.findings] == [1_000_000]


def test_flatten_paths() -> None:
    assert dict(flatten({"a": {"b": [1, {"c": "x"}]}, "d": True})) == {
        "a.b[0]": 1, "a.b[1].c": "x", "d": True}


def test_matching_summary_gives_no_warning() -> None:
    params = {"amount": 120, "currency": "EUR", "email": "ann@example.com"}
    assert mismatches("Refund €120 to ann@example.com for cus_42", params=params,
                      target="cus_42") == []


def test_amount_in_summary_differs_from_params() -> None:
    warnings = mismatches("Refund €120 to the customer", params={"amount": 12000},
                          target="cus_42")
    assert any("€120" in w for w in warnings)
    assert any("amount is 12000" in w for w in warnings)


def test_thousands_separators_and_codes() -> None:
    assert mismatches("Pay USD 1,250.50 now", params={"amount": "1250.50"}, target="x") == []
    assert mismatches("Pay 1 250 EUR", params={"amount": 1250}, target="x") == []
    assert mismatches("Pay 99 dollars", params={"amount": 1250}, target="x")


def test_recipient_not_in_payload() -> None:
    warnings = mismatches("Email bob@example.com the report", params={"to": "eve@evil.test"},
                          target="mail")
    assert warnings == ["the summary names the recipient bob@example.com, who is not in the "
                        "payload"]


def test_link_host_not_in_payload() -> None:
    warnings = mismatches("Docs at https://good.example/x", params={"url": "https://evil.test"},
                          target="t")
    assert any("good.example" in w for w in warnings)


def test_target_lookalike() -> None:
    warnings = mismatches("Refund the duplicate charge on cus_43", params={"amount": 1},
                          target="cus_42")
    assert warnings == ["the summary names cus_43, but the target is cus_42"]
    assert mismatches("Deploy to prod/api", params={}, target="prod/api") == []
    # A longer name that merely contains the target is another target.
    assert mismatches("Deploy to prod/api-v2, not prod/api", params={}, target="prod/api") \
        == ["the summary names prod/api-v2, but the target is prod/api"]


def test_hostile_megabytes_stay_linear() -> None:
    for filler in ("A", "1", "a.", "x@", "é"):
        text = "Pay €5 to a@b.example " + filler * 500_000
        started = time.perf_counter()
        reveal(text)
        mismatches(text, params={"amount": 5, "to": "a@b.example"}, target="cus_1",
                   scan_limit=2_000_000)
        assert time.perf_counter() - started < 2.0, filler


def test_too_many_mentions_are_reported_not_ignored() -> None:
    text = "€1 " * 600 + " ".join(f"u{i}@x.example" for i in range(600))
    warnings = mismatches(text, params={"amount": 1, "to": text}, target="t")
    assert any("more than 500 amounts" in w for w in warnings)
    assert any("more than 500 addresses" in w for w in warnings)


def test_past_the_cap_hidden_characters_are_still_neutralised() -> None:
    text = "a\u202e" * 10 + "b\u200b" * 5 + "c\r\n"
    r = reveal(text, max_findings=4)
    assert len(r.findings) == 4 and r.more == 11
    shown = "".join(s.text if not s.mark else s.mark for s in r.segments)
    assert "\u202e" not in shown and "\u200b" not in shown
    assert shown.endswith("b⟦U+200B⟧c\r\n")
