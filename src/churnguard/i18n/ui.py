"""The dashboard's UI strings (``ui.<lang>.json``) on top of the message catalogue.

:func:`t` looks a key up in the UI strings first, then in the shared catalogue
(:func:`churnguard.i18n.message`: bands, grades, reason sentences). Numbers and dates are
written per language: Persian digits and the Solar Hijri calendar for Persian, ``年月日``
for Chinese, ISO dates for English.

>>> t("nav.overview", "zh"), t("band.high", "en")
('总览', 'high')
>>> format_date(dt.date(2026, 3, 21), "fa"), format_date(dt.date(2026, 6, 30), "zh")
('۱۴۰۵/۰۱/۰۱', '2026年6月30日')
>>> percent(0.0512, "fa"), money(12345.6, "en"), money(12345.6, "zh")
('۵٫۱٪', '12,346', '12,346')
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any

from churnguard.errors import InputError
from churnguard.i18n import LANGUAGES, RTL_LANGUAGES, catalog, localize, message, placeholders

#: how each language writes a number, after CLDR: (digits, group separator, decimal
#: separator, minus sign, percent sign). Chinese groups by thousands with "," and uses
#: Western digits like English (CLDR zh "latn"); 万 / 亿 belong to compact forms only,
#: which the dashboard does not use for exact amounts. Persian uses Persian digits,
#: U+066C as the group separator, U+066B as the decimal separator, U+2212 as the minus
#: and ٪ (U+066A) as the percent sign (CLDR fa "arabext").
NUMBER_STYLES: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("0123456789", ",", ".", "-", "%"),
    "zh": ("0123456789", ",", ".", "-", "%"),
    "fa": ("۰۱۲۳۴۵۶۷۸۹", "\u066c", "\u066b", "\u2212", "\u066a"),
}
_STYLE_TABLES = {lang: str.maketrans("0123456789,.-", f"{d}{g}{dec}{m}")
                 for lang, (d, g, dec, m, _p) in NUMBER_STYLES.items()}
LANGUAGE_NAMES = {"en": "English", "zh": "简体中文", "fa": "فارسی"}


@cache
def ui_catalog(language: str) -> dict[str, str]:
    """The UI strings of one language."""
    if language not in LANGUAGES:
        raise InputError(f"language {language!r} is not in the catalogue; use one of "
                         f"{', '.join(LANGUAGES)}")
    out: dict[str, str] = {}
    # ui.<lang>.json, then one file per dashboard area (ui.<area>.<lang>.json); a key
    # defined twice is a mistake, not an override
    files = sorted((f for f in resources.files("churnguard.i18n").iterdir()
                    if f.name.startswith("ui.") and f.name.endswith(f".{language}.json")),
                   key=lambda f: f.name)
    for f in files:
        for k, v in json.loads(f.read_text(encoding="utf-8")).items():
            if k in out:
                raise RuntimeError(f"UI string {k!r} is defined twice ({f.name})")
            out[str(k)] = str(v)
    return out


def t(key: str, language: str = "en", /, **values: Any) -> str:
    """The UI string ``key`` in ``language`` (catalogue fallback), filled with ``values``."""
    ui = ui_catalog(language)
    if key not in ui:
        return message(key, language, **values)
    template = ui[key]
    if not placeholders(template):
        return template
    return template.format(**{k: localize(v, language) for k, v in values.items()})


def reason_label(code: Any, language: str) -> str:
    """The short label of a model reason code ('' for a missing code; the code itself,
    spaced, for a code the catalogue does not know yet)."""
    if code is None or not isinstance(code, str) or not code:
        return ""
    key = f"reasoncode.{code}"
    return ui_catalog(language)[key] if key in ui_catalog(language) else code.replace("_", " ")


def reason_texts(row: Any, language: str) -> list[tuple[str, str]]:
    """A customer's reasons as ``(code, words)``, strongest first.

    The words are the sentence the scoring run wrote in ``language`` with the customer's
    own numbers (columns ``reason_i_<lang>``); where no sentence was kept, the code's
    label in that language.
    """
    out = []
    for i in (1, 2, 3):
        code = row.get(f"reason_{i}")
        if not isinstance(code, str) or not code:
            continue
        text = row.get(f"reason_{i}_{language}")
        out.append((code, text if isinstance(text, str) and text else
                    reason_label(code, language)))
    return out


def has(key: str, language: str = "en") -> bool:
    return key in ui_catalog(language) or key in catalog(language)


def is_rtl(language: str) -> bool:
    return language in RTL_LANGUAGES


def _digits(text: str, language: str) -> str:
    """``text`` written with Western digits, "," groups and "." decimals, in the
    language's own symbols (:data:`NUMBER_STYLES`)."""
    return text.translate(_STYLE_TABLES.get(language, _STYLE_TABLES["en"]))


def number(value: Any, language: str, *, digits: int = 0) -> str:
    """A number with thousands separators, in the language's digits; '' for missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    if v != v:  # NaN
        return ""
    return _digits(f"{v:,.{digits}f}", language)


def money(value: Any, language: str) -> str:
    return number(value, language, digits=0)


def percent(value: Any, language: str, *, digits: int = 1) -> str:
    try:
        v = float(value) * 100
    except (TypeError, ValueError):
        return ""
    if v != v:
        return ""
    sign = NUMBER_STYLES.get(language, NUMBER_STYLES["en"])[4]
    return _digits(f"{v:,.{digits}f}", language) + sign


def to_jalali(day: dt.date) -> tuple[int, int, int]:
    """The Solar Hijri (Persian) date of a Gregorian date (the 33-year arithmetic rule).

    >>> to_jalali(dt.date(2024, 3, 20)), to_jalali(dt.date(2026, 6, 30))
    ((1403, 1, 1), (1405, 4, 9))
    """
    g_days = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    gy, gm, gd = day.year, day.month, day.day
    gy2 = gy + 1 if gm > 2 else gy
    days = (355666 + 365 * gy + (gy2 + 3) // 4 - (gy2 + 99) // 100 + (gy2 + 399) // 400
            + gd + g_days[gm - 1])
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def format_date(value: Any, language: str) -> str:
    """A date (or timestamp) in the language's calendar and digits; '' for missing."""
    if value is None:
        return ""
    try:
        import pandas as pd

        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return ""
        day = ts.date()
    except (TypeError, ValueError):
        return str(value)
    if language == "fa":
        y, m, d = to_jalali(day)
        return _digits(f"{y:04d}/{m:02d}/{d:02d}", language)
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


__all__ = ["LANGUAGE_NAMES", "format_date", "has", "is_rtl", "money", "number", "percent",
           "reason_label", "reason_texts", "t", "to_jalali", "ui_catalog"]
