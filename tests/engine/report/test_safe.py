"""The formula-injection neutraliser: OWASP's list, numbers untouched, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.report.safe import DANGEROUS_FIRST, PREFIX, is_dangerous, neutralise

PAYLOADS = [
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "\uff1dSUM(1)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_get_a_leading_apostrophe(payload: str) -> None:
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("text", ["Basra office", "<script>alert(1)</script>", "", "a=b", "1e5"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


@pytest.mark.parametrize("value", [-5, -0.5, 3.25, 0, True, None, dt.date(2020, 1, 14)])
def test_non_text_passes_through_so_numbers_stay_numbers(value: object) -> None:
    assert neutralise(value) is value


@given(st.text())
def test_no_output_can_start_a_formula(text: str) -> None:
    out = neutralise(text)
    assert isinstance(out, str)
    assert not is_dangerous(out)
    assert out.endswith(text)  # only ever prepends
    assert out in (text, PREFIX + text)


@given(st.text())
def test_neutralise_is_idempotent(text: str) -> None:
    once = neutralise(text)
    assert neutralise(once) == once


@given(st.sampled_from(sorted(DANGEROUS_FIRST)), st.text())
def test_every_dangerous_first_character_is_neutralised(first: str, rest: str) -> None:
    assert neutralise(first + rest) == PREFIX + first + rest


@given(st.text().filter(lambda t: not is_dangerous(t)))
def test_safe_text_is_unchanged(text: str) -> None:
    assert neutralise(text) == text
