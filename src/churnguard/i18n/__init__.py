"""The message catalogue: every user-facing sentence in English, Simplified Chinese and Persian.

One JSON file per language (``en.json``, ``zh.json``, ``fa.json``) maps a message key to a
template with ``{named}`` placeholders. :func:`message` fills a template with the caller's
values, formatting numbers for the language: Persian text gets Persian digits (۰-۹) and
the Persian decimal separator, so a sentence never mixes scripts of digits.

>>> message("reason.complaints", "en", complaints_30d=3, unresolved_complaints=2)
'3 complaints in the last 30 days, 2 unresolved'
>>> message("reason.complaints", "zh", complaints_30d=3, unresolved_complaints=2)
'近30天投诉3次，其中2次未解决'
>>> message("reason.complaints", "fa", complaints_30d=3, unresolved_complaints=2)
'۳ شکایت در ۳۰ روز گذشته، ۲ مورد حل\u200cنشده'
"""

from __future__ import annotations

import json
import math
import string
from functools import cache
from importlib import resources
from typing import Any

from churnguard.errors import InputError

#: the languages of the catalogue: English, Simplified Chinese, Persian
LANGUAGES: tuple[str, ...] = ("en", "zh", "fa")
#: languages written right to left
RTL_LANGUAGES = frozenset({"fa"})
_PERSIAN_DIGITS = str.maketrans("0123456789.-", "۰۱۲۳۴۵۶۷۸۹٫−")


@cache
def catalog(language: str) -> dict[str, str]:
    """The templates of one language, ``{key: template}`` (read once, then cached)."""
    if language not in LANGUAGES:
        raise InputError(f"language {language!r} is not in the catalogue; use one of "
                         f"{', '.join(LANGUAGES)}")
    path = resources.files("churnguard.i18n").joinpath(f"{language}.json")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    return {str(k): str(v) for k, v in data.items()}


def placeholders(template: str) -> set[str]:
    """Names of the ``{placeholders}`` of a template.

    >>> sorted(placeholders("{a} and {b}"))
    ['a', 'b']
    """
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def format_number(value: float | int, language: str, *, digits: int = 1) -> str:
    """A number as a word of ``language``: whole numbers without decimals, others rounded
    to ``digits`` decimals; Persian digits for Persian.

    >>> format_number(12.0, "en"), format_number(3.14159, "en"), format_number(2.5, "fa")
    ('12', '3.1', '۲٫۵')
    """
    v = float(value)
    if not math.isfinite(v):
        return message("value.unknown", language)
    text = f"{v:.0f}" if abs(v - round(v)) < 10 ** -(digits + 1) else f"{v:.{digits}f}"
    if text == "-0":
        text = "0"
    return text.translate(_PERSIAN_DIGITS) if language == "fa" else text


def localize(value: Any, language: str) -> str:
    """Any template value as text of ``language`` (numbers formatted, None = "unknown")."""
    if value is None:
        return message("value.unknown", language)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value, language)
    try:  # numpy scalars
        return format_number(float(value), language)
    except (TypeError, ValueError):
        text = str(value)
        return text.translate(_PERSIAN_DIGITS) if language == "fa" and text.isdigit() else text


def message(key: str, language: str = "en", /, **values: Any) -> str:
    """The template ``key`` of ``language`` filled with ``values``.

    Raises :class:`InputError` for an unknown key or a missing value.
    """
    templates = catalog(language)
    if key not in templates:
        raise InputError(f"message {key!r} is not in the {language} catalogue")
    template = templates[key]
    if not placeholders(template):
        return template
    try:
        return template.format(**{k: localize(v, language) for k, v in values.items()})
    except KeyError as exc:
        raise InputError(f"message {key!r} needs a value for {exc.args[0]}") from None


__all__ = ["LANGUAGES", "RTL_LANGUAGES", "catalog", "format_number", "localize", "message",
           "placeholders"]
