"""Free spellings of structured reasons map to the taxonomy; text normalisation."""

from __future__ import annotations

import pytest

from churnguard.contract.reasons import MAIN_REASONS, SUB_REASONS
from churnguard.reasons.taxonomy import UNKNOWN, main_of, to_main_reason, to_sub_reason
from churnguard.reasons.text import char_ngrams, normalise


@pytest.mark.parametrize("code", list(SUB_REASONS))
def test_every_code_maps_to_itself_in_any_spelling(code: str) -> None:
    assert to_sub_reason(code) == code
    assert to_sub_reason(code.upper().replace("_", " ")) == code
    assert to_sub_reason(f"  {code.replace('_', '-')} ") == code
    assert to_main_reason(code) == SUB_REASONS[code].main


@pytest.mark.parametrize(("given", "sub"), [
    ("Too expensive", "price"), ("价格", "price"), ("價格", "price"), ("قیمت", "price"),
    ("قيمت", "price"),  # Arabic yeh folds to Persian yeh
    ("Switched to competitor", "competitor"), ("竞争对手", "competitor"),
    ("Moved away", "relocation"), ("搬迁", "relocation"), ("Business closed", "no_longer_needed"),
    ("Spam", "over_marketing"), ("No personalization", "no_personalisation"),
    ("Customer Service", "poor_service"), ("Missing features", "product_gap"),
])
def test_free_spellings(given: str, sub: str) -> None:
    assert to_sub_reason(given) == sub
    assert to_main_reason(given) == SUB_REASONS[sub].main


def test_main_reasons_and_unmappable_values() -> None:
    for code in MAIN_REASONS:
        assert to_main_reason(code) == code
    assert to_main_reason("Service Failure") == "service_failure"
    assert to_sub_reason("service_failure") is None  # main only: no sub-reason
    for value in (None, float("nan"), "", "blue", "other"):
        assert to_sub_reason(value) is None  # type: ignore[arg-type]
        assert to_main_reason(value) is None  # type: ignore[arg-type]
    assert main_of(UNKNOWN) == UNKNOWN


def test_normalise_persian_variants_digits_and_punctuation() -> None:
    assert normalise("كيفيت") == normalise("کیفیت")
    assert normalise("۱۲۳ ١٢٣ １２３") == "123 123 123"
    assert normalise("ارزان\u200cتر") == "ارزان تر"
    assert normalise("太贵了！！再见。") == "太贵了 再见"
    assert normalise("مُحَمَّد") == "محمد"
    assert char_ngrams("") == []
    # char_wb: n-grams never cross a chunk boundary
    assert not any(" " in g.strip() for g in char_ngrams("ab cd"))
