"""Numbers, money and percentages are written per language, as CLDR writes them.

Expected strings are written out by hand from the CLDR number symbols: English and
Simplified Chinese group thousands with "," and use "." and Western digits; Persian uses
Persian digits, U+066C groups, U+066B decimals, U+2212 minus and U+066A percent.
"""

from __future__ import annotations

import math

import pytest

from churnguard.i18n.ui import money, number, percent


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "1,234,567.89"),
    ("zh", "1,234,567.89"),
    ("fa", "۱٬۲۳۴٬۵۶۷٫۸۹"),
])
def test_grouping_and_decimals(lang: str, expected: str) -> None:
    assert number(1234567.891, lang, digits=2) == expected


@pytest.mark.parametrize(("lang", "amount", "expected"), [
    ("en", 12345.6, "12,346"),
    ("zh", 12345.6, "12,346"),  # not 1.2万: exact amounts, CLDR zh grouping
    ("fa", 12345.6, "۱۲٬۳۴۶"),
    ("zh", 999.4, "999"),
    ("fa", -1234.0, "−۱٬۲۳۴"),
    ("en", -1234.0, "-1,234"),
])
def test_money_is_rounded_to_whole_units(lang: str, amount: float, expected: str) -> None:
    assert money(amount, lang) == expected


@pytest.mark.parametrize(("lang", "value", "expected"), [
    ("en", 0.0512, "5.1%"),
    ("zh", 0.0512, "5.1%"),
    ("fa", 0.0512, "۵٫۱٪"),
    ("fa", -0.25, "−۲۵٫۰٪"),
    ("zh", 12.5, "1,250.0%"),  # e.g. a net revenue retention far above 100%
])
def test_percent(lang: str, value: float, expected: str) -> None:
    assert percent(value, lang) == expected


@pytest.mark.parametrize("lang", ["en", "zh", "fa"])
@pytest.mark.parametrize("missing", [None, math.nan, "n/a"])
def test_missing_values_are_blank(lang: str, missing: object) -> None:
    assert number(missing, lang) == money(missing, lang) == percent(missing, lang) == ""
