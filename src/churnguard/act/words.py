"""An alert in words, in English, Simplified Chinese or Persian (pages and delivery).

An alert stores its reasons as English sentences (``Alert.reasons``, written by
:func:`churnguard.act.rules.reasons_in_words`) and the values the rule read
(``Alert.values``). :func:`alert_reasons` gives the sentences in another language from
those values: one per comparison of the rule (when the rule is still configured), else one
per value read, each with the feature's label from the UI catalogue (``feature.<name>`` in
``ui.act.<lang>.json``) and the number written in the language's digits.
:func:`alert_lines` builds the whole message a channel delivers, in the channel's
``language``.

Cases opened by a complaint or negative feedback keep their English title
(``complaint (billing)``, ``nps feedback (price)``: what the API and the CLI show);
:func:`case_title` shows it in another language, the category translated when the catalogue
knows it (``ticketcat.<category>``, a feedback reason ``taxonomy.<code>`` /
``subreason.<code>``), else as written.

>>> case_title("complaint", "billing", "complaint (billing)", "zh")
'投诉（账单）'
>>> case_title("complaint", "Warranty", "complaint (Warranty)", "fa")
'شکایت (Warranty)'

>>> from churnguard.act.models import Alert
>>> import datetime as dt
>>> a = Alert(rule="complaints", customer_id="C1", as_of=dt.date(2026, 3, 1),
...           severity="high", reasons=["Complaints ...: 3"], values={"complaints_30d": 3})
>>> alert_reasons(a, "zh")
['近30天投诉数：3']
>>> alert_reasons(a, "fa")
['شکایت\u200cها در ۳۰ روز گذشته: ۳']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from churnguard.act.cases import UNCATEGORISED, UNCLASSIFIED
from churnguard.i18n import ui

if TYPE_CHECKING:
    from churnguard.act.models import Alert
    from churnguard.act.rules import Rule


def label(name: str, language: str) -> str:
    """The label of a feature or model output (the name itself when unknown)."""
    key = f"feature.{name}"
    return ui.t(key, language) if key in ui.ui_catalog(language) else name


def playbook_label(playbook: str | None, language: str) -> str:
    """A playbook's name in words ('' for none; the id itself for a custom playbook)."""
    if not playbook:
        return ""
    key = f"playbook.{playbook}"
    return ui.t(key, language) if key in ui.ui_catalog(language) else playbook


def value_text(value: Any, language: str) -> str:
    """A value read by a rule, in the language's digits ('unknown' for a missing one)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ui.t("value.unknown", language)
    if isinstance(value, bool):
        return ui.t("act.yes" if value else "act.no", language)
    if isinstance(value, int | float):
        v = float(value)
        digits = 0 if abs(v) >= 100 or v == round(v) else 2
        return ui.number(v, language, digits=digits)
    if isinstance(value, str) and value in ("high", "medium", "low"):
        return ui.t(f"band.{value}", language)
    return str(value)


def alert_reasons(alert: Alert, language: str,
                  rules: Mapping[str, Rule] | None = None) -> list[str]:
    """The alert's reasons in ``language`` (English: the stored sentences).

    ``rules`` (loaded rules by name) lets a sentence quote the comparison that fired; a
    rule no longer configured, or changed since, falls back to one sentence per value.
    """
    if language == "en":
        return list(alert.reasons)
    values = dict(alert.values or {})
    rule = (rules or {}).get(alert.rule)
    out: list[str] = []
    if rule is not None and set(rule.expression.names) <= set(values):
        for c in rule.expression.conditions:
            out.append(ui.t("alertmsg.reason", language, label=label(c.name, language),
                            value=value_text(values.get(c.name), language), rule=c.text))
    if not out:
        out = [f"{label(k, language)}{'：' if language == 'zh' else ': '}"
               f"{value_text(v, language)}" for k, v in values.items()]
    return out or list(alert.reasons)


def alert_title(alert: Alert, language: str) -> str:
    """``[high] complaints rising: customer C1`` in ``language``."""
    return ui.t("alertmsg.title", language, severity=ui.t(f"band.{alert.severity}", language),
                rule=alert.rule, customer_id=str(alert.customer_id))


def alert_lines(alert: Alert, language: str,
                rules: Mapping[str, Rule] | None = None) -> list[str]:
    """The lines of a delivered alert: who, why, value at stake, playbook, routed to whom."""
    t = ui.t
    lines = [t("alertmsg.customer", language, customer_id=str(alert.customer_id),
               as_of=ui.format_date(alert.as_of, language))]
    lines += [t("alertmsg.why", language, reason=r)
              for r in alert_reasons(alert, language, rules)]
    if alert.value_at_stake is not None:
        lines.append(t("alertmsg.value", language,
                       value=ui.money(alert.value_at_stake, language),
                       basis=str(alert.value_basis)))
    if alert.playbook:
        shown = alert.playbook if language == "en" else playbook_label(alert.playbook,
                                                                       language)
        lines.append(t("alertmsg.playbook", language, playbook=shown))
    lines.append(t("alertmsg.assigned", language,
                   assignee=alert.assignee or t("alertmsg.nobody", language),
                   route=alert.route))
    if alert.case_id is not None:
        lines.append(t("alertmsg.case", language, case_id=str(alert.case_id)))
    return lines


#: the English titles :func:`churnguard.act.cases.complaint_title` and
#: :func:`~churnguard.act.cases.feedback_title` store, read back
_TITLES = {"complaint": re.compile(r"complaint \((?P<category>.*)\)", re.DOTALL),
           "feedback": re.compile(r"(?P<kind>[a-z_]+) feedback \((?P<category>.*)\)",
                                  re.DOTALL)}
_NO_CATEGORY = {"complaint": (UNCATEGORISED, "case.uncategorised"),
                "feedback": (UNCLASSIFIED, "case.unclassified")}
#: catalogue keys that may name a ticket category / a feedback reason, first found wins
_CATEGORY_KEYS = {"complaint": ("ticketcat.{}",), "feedback": ("taxonomy.{}", "subreason.{}")}
#: a line of a joined case's history: ``<title> [complaint T17]``
_EVENT = re.compile(r"(?P<title>.*) \[(?P<source>complaint|feedback) (?P<ref>[^\]]*)\]",
                    re.DOTALL)


def _fill(key: str, language: str, **values: str) -> str:
    """A catalogue string filled with text taken as written (``ui.t`` would turn a
    category such as "2024" into a formatted number)."""
    template = ui.ui_catalog(language).get(key) or ui.ui_catalog("en")[key]
    return template.format(**values)


def category_label(source: str, category: str | None, language: str) -> str:
    """A complaint's ticket category or a feedback's reason in words: the catalogue's
    label of a known value (matched without regard to case, spaces or hyphens), the text
    as written otherwise, "uncategorised" / "unclassified" for none."""
    if not category or category == _NO_CATEGORY.get(source, ("",))[0]:
        return ui.t(_NO_CATEGORY.get(source, _NO_CATEGORY["complaint"])[1], language)
    code = re.sub(r"[\s-]+", "_", category.strip().lower())
    catalog = ui.ui_catalog(language)
    for pattern in _CATEGORY_KEYS.get(source, ()):
        key = pattern.format(code)
        if key in catalog:
            return catalog[key]
    return category


def case_title(source: str, category: str | None, stored_title: str, language: str) -> str:
    """A case's title in ``language``, for a case opened by a complaint or negative
    feedback rendered from its ``source`` and category (and the feedback's kind, read from
    the stored title).

    English, a case of another source, and a title that is not the one
    :mod:`churnguard.act.cases` stores (edited, or whose text disagrees with the case's
    ``category``) are shown as stored. ``category=None`` skips that check (a history line
    quotes a title but not its category)."""
    pattern = _TITLES.get(source)
    if language == "en" or pattern is None:
        return stored_title
    m = pattern.fullmatch(stored_title)
    if m is None or (category is not None and m["category"] != category):
        return stored_title
    shown = category_label(source, m["category"], language)
    if source == "complaint":
        return _fill("case.title.complaint", language, category=shown)
    kind_key = f"feedbackkind.{m['kind']}"
    kind = ui.t(kind_key, language) if kind_key in ui.ui_catalog(language) else m["kind"]
    return _fill("case.title.feedback", language, kind=kind, category=shown)


def case_event_text(kind: str, text: str, language: str) -> str:
    """The line a complaint or feedback adds to the history of the open case it joins
    (``complaint (billing) [complaint T17]``) in ``language``; other lines as written."""
    m = _EVENT.fullmatch(text) if language != "en" and kind in _TITLES else None
    if m is None or m["source"] != kind:
        return text
    shown = case_title(kind, None, m["title"], language)
    return f"{shown} [{ui.t(f'source.{kind}', language)} {m['ref']}]"


__all__ = ["alert_lines", "alert_reasons", "alert_title", "case_event_text", "case_title",
           "category_label", "label", "playbook_label", "value_text"]
