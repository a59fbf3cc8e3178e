"""Map structured reason choices, in whatever spelling a system exports them, to the taxonomy.

The codes themselves live in :mod:`churnguard.contract.reasons` (R12). Cancellation forms
export their choices as codes (``price``), labels (``Too expensive``), other casings and
separators (``No-Longer Needed``) or other languages (``价格``, ``قیمت``). Every spelling is
normalised (case, separators, Persian letter variants) and looked up in :data:`SYNONYMS`;
a main-reason code maps to itself.

>>> to_sub_reason("Too expensive")
'price'
>>> to_sub_reason("No-Longer Needed")
'no_longer_needed'
>>> to_sub_reason("搬迁")
'relocation'
>>> to_sub_reason("service_failure") is None   # a main reason, not a sub-reason
True
>>> to_main_reason("service_failure"), to_main_reason("竞争对手"), to_main_reason("blue")
('service_failure', 'competitor', None)
"""

from __future__ import annotations

from churnguard.contract.reasons import SUB_REASONS
from churnguard.reasons.text import normalise

UNKNOWN = "unknown"

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "unprofitable": ("not profitable", "unprofitable customer", "let go", "offboarded",
                     "不盈利", "亏损客户", "غیر سودآور", "زیان ده"),
    "poor_service": ("bad service", "service", "support", "customer service", "poor support",
                     "服务差", "服务", "服務差", "客服", "خدمات ضعیف", "پشتیبانی"),
    "product_gap": ("missing features", "features", "product", "quality", "bugs",
                    "product quality", "功能", "产品", "質量", "质量", "کیفیت", "امکانات"),
    "over_marketing": ("too many emails", "too many messages", "spam", "too much marketing",
                       "marketing", "骚扰", "营销太多", "騷擾", "تبلیغات زیاد", "پیامک زیاد"),
    "no_personalisation": ("no personalization", "not relevant", "irrelevant offers",
                           "personalisation", "personalization", "不相关", "不个性化",
                           "شخصی سازی"),
    "competitor": ("switched", "switched to competitor", "competition", "another provider",
                   "other provider", "竞争对手", "競爭對手", "竞品", "رقیب"),
    "price": ("too expensive", "expensive", "cost", "pricing", "price increase", "budget",
              "价格", "價格", "太贵", "太貴", "قیمت", "گران"),
    "relocation": ("moved", "moving", "relocated", "moved away", "搬迁", "搬遷", "搬家",
                   "جابجایی", "نقل مکان", "مهاجرت"),
    "no_longer_needed": ("not needed", "no need", "no longer need", "closed",
                         "business closed", "project ended", "不再需要", "不需要",
                         "دیگر نیاز نداریم", "نیاز نداریم"),
}
#: main reasons given directly in other spellings
_MAIN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "deliberate": ("pushed away deliberately",),
    "service_failure": ("service failure", "pushed away unintentionally"),
    "competitor": ("pulled away",),
    "price": ("bought away",),
    "migration": ("moved away", "migrated"),
}

def _key(value: str) -> str:
    return normalise(value.replace("_", " ").replace("-", " "))

#: normalised spelling -> sub-reason code
SYNONYMS: dict[str, str] = {
    _key(s): code for code, spellings in _SPELLINGS.items() for s in (code, *spellings)
}
_MAIN_SYNONYMS: dict[str, str] = {
    _key(s): code for code, spellings in _MAIN_SPELLINGS.items() for s in (code, *spellings)
}

def to_sub_reason(value: str | None) -> str | None:
    """The sub-reason code of a structured choice, or None if it names none.

    >>> to_sub_reason("  PRICE ")
    'price'
    """
    if value is None or value != value:  # None or NaN
        return None
    return SYNONYMS.get(_key(str(value)))

def to_main_reason(value: str | None) -> str | None:
    """The main-reason code of a structured choice (a sub-reason maps to its main one).

    >>> to_main_reason("relocation")
    'migration'
    """
    sub = to_sub_reason(value)
    if sub is not None:
        return SUB_REASONS[sub].main
    if value is None or value != value:
        return None
    return _MAIN_SYNONYMS.get(_key(str(value)))

def main_of(sub_reason: str) -> str:
    """The main reason of a sub-reason code; ``unknown`` stays ``unknown``.

    >>> main_of("over_marketing"), main_of("unknown")
    ('service_failure', 'unknown')
    """
    return UNKNOWN if sub_reason == UNKNOWN else SUB_REASONS[sub_reason].main
