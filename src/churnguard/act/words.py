"""An alert in words, in English, Simplified Chinese or Persian (pages and delivery).

An alert stores its reasons as English sentences (``Alert.reasons``, written by
:func:`churnguard.act.rules.reasons_in_words`) and the values the rule read
(``Alert.values``). :func:`alert_reasons` gives the sentences in another language from
those values: one per comparison of the rule (when the rule is still configured), else one
per value read, each with the feature's label from the UI catalogue (``feature.<name>`` in
``ui.act.<lang>.json``) and the number written in the language's digits.
:func:`alert_lines` builds the whole message a channel delivers, in the channel's
``language``.

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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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


__all__ = ["alert_lines", "alert_reasons", "alert_title", "label", "playbook_label",
           "value_text"]
