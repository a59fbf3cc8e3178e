"""The message catalogue: one key set in three languages, Persian digits in Persian."""

from __future__ import annotations

import re

import pytest

from churnguard.errors import InputError
from churnguard.i18n import LANGUAGES, catalog, format_number, message, placeholders


def test_every_key_exists_in_every_language() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        assert keys[lang] == keys["en"], (lang, keys[lang] ^ keys["en"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_english(lang: str) -> None:
    en = catalog("en")
    for key, text in catalog(lang).items():
        assert placeholders(text) == placeholders(en[key]), key
        assert text.strip(), key


def test_persian_text_has_persian_digits_only() -> None:
    for key, text in catalog("fa").items():
        assert not re.search(r"[0-9]", re.sub(r"\{\w+\}", "", text)), key
    assert format_number(30, "fa") == "۳۰"
    assert message("reason.inactivity", "fa", days=123) == "۱۲۳ روز بدون سفارش یا فعالیت"


def test_the_issue_sentences() -> None:
    values = {"complaints_30d": 3, "unresolved_complaints": 2}
    assert message("reason.complaints", "en", **values) == (
        "3 complaints in the last 30 days, 2 unresolved")
    assert message("reason.complaints", "zh", **values) == "近30天投诉3次，其中2次未解决"
    assert message("reason.complaints", "fa", **values) == (
        "۳ شکایت در ۳۰ روز گذشته، ۲ مورد حل\u200cنشده")


def test_unknown_key_language_or_value_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="not in the en catalogue"):
        message("reason.nope", "en")
    with pytest.raises(InputError, match="use one of en, zh, fa"):
        message("reason.tenure", "de", days=3)
    with pytest.raises(InputError, match="needs a value for days"):
        message("reason.tenure", "en")
