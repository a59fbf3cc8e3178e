"""Reasons: per-customer feature contributions grouped into reason codes, in three languages.

The model's TreeSHAP contributions (log-odds) are summed per reason group of the feature
registry; the groups pushing the risk up most are the customer's reasons. Each reason code
(the group name with underscores: ``complaints``, ``falling_purchases`` ...) has sentence
templates in the message catalogue (:mod:`churnguard.i18n`), filled with the customer's
own numbers.

>>> row = {"complaints_30d": 3, "unresolved_complaints": 2}
>>> [reason_sentence("complaints", row, lang) for lang in ("en", "zh")]
['3 complaints in the last 30 days, 2 unresolved', '近30天投诉3次，其中2次未解决']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from churnguard.i18n import LANGUAGES, message
from churnguard.predict.features.registry import Feature

#: reasons reported per customer
TOP_REASONS = 3


def reason_code(group: str) -> str:
    """The reason code of a reason group: ``falling purchases`` -> ``falling_purchases``."""
    return group.replace(" ", "_")


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _r(v: Any, digits: int = 0) -> float | None:
    f = _num(v)
    return None if f is None else round(f, digits)


def _attribute_name(feature: str) -> str:
    return feature.removeprefix("attr_").replace("_", " ")


def _value(v: Any, lang: str) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return message("value.unknown", lang)
    f = _num(v)
    return round(f, 2) if f is not None and not isinstance(v, str) else v


def reason_sentence(code: str, row: Mapping[str, Any], lang: str = "en",
                    top_feature: str | None = None) -> str:
    """The sentence of a reason code for one customer's feature values ``row``.

    ``top_feature`` (the group's strongest feature) is used for custom attributes and for
    groups without a dedicated template (``profile``).
    """
    g = row.get
    if top_feature and (top_feature.startswith("attr_") or code == "profile"):
        return message("reason.attribute", lang, name=_attribute_name(top_feature),
                       value=_value(g(top_feature), lang))
    if code == "inactivity":
        d = _r(g("days_since_last_activity"))
        return (message("reason.inactivity", lang, days=d) if d is not None
                else message("reason.inactivity.never", lang))
    if code == "falling_purchases":
        if top_feature == "bgnbd_expected_purchases":
            return message("reason.expected_purchases", lang,
                           purchases=_r(g(top_feature), 1), horizon_days=g("_horizon_days", 90))
        if _num(g("orders_90d")) or _num(g("orders_prev_90d")):
            return message("reason.falling_purchases", lang, orders_90d=_r(g("orders_90d")),
                           orders_prev_90d=_r(g("orders_prev_90d")))
        d = _r(g("days_since_last_order"))
        if d is not None:
            return message("reason.falling_purchases.recency", lang, days=d)
        return message("reason.falling_purchases.never", lang)
    if code == "engagement_drop":
        return message("reason.engagement_drop", lang,
                       interactions_90d=_r(g("interactions_90d")) or 0,
                       interactions_prev_90d=_r(g("interactions_prev_90d")) or 0)
    if code == "no_contact":
        d = _r(g("days_since_last_contact"))
        return (message("reason.no_contact", lang, days=d) if d is not None
                else message("reason.no_contact.never", lang))
    if code == "unanswered_request":
        return message("reason.unanswered_request", lang,
                       open_requests=_r(g("open_requests")) or 0,
                       days=_r(g("days_oldest_open_request")))
    if code == "complaints":
        return message("reason.complaints", lang, complaints_30d=_r(g("complaints_30d")) or 0,
                       unresolved_complaints=_r(g("unresolved_complaints")) or 0)
    if code == "satisfaction":
        if _num(g("nps_last")) is not None:
            return message("reason.satisfaction", lang, score=_r(g("nps_last")),
                           change=_r(g("nps_change")))
        return message("reason.satisfaction.csat", lang, score=_r(g("csat_last")))
    if code == "price":
        return message("reason.price", lang, mrr=_r(g("mrr"), 2),
                       change=_r(g("mrr_change_90d"), 2))
    if code == "plan_change":
        return message("reason.plan_change", lang, downgrades=_r(g("downgrades_365d")) or 0,
                       changes=_r(g("plan_changes_365d")) or 0)
    if code == "contract_ending":
        contract = _value(g("contract_type"), lang)
        m = _r(g("months_to_renewal"), 1)
        return (message("reason.contract_ending", lang, contract=contract, months=m)
                if m is not None else message("reason.contract_ending.type", lang,
                                              contract=contract))
    if code == "tenure":
        return message("reason.tenure", lang, days=_r(g("tenure_days")))
    if code == "loyalty":
        return message("reason.loyalty", lang, tier=_value(g("loyalty_tier"), lang),
                       points=_r(g("loyalty_points")))
    if code == "acquisition":
        return message("reason.acquisition", lang,
                       channel=_value(g("acquisition_channel"), lang),
                       offer=_value(g("first_offer"), lang))
    name = top_feature or code
    return message("reason.profile", lang, name=_attribute_name(name), value=_value(g(name), lang))


def group_contributions(contrib: np.ndarray, features: Sequence[str],
                        registry: Mapping[str, Feature]) -> tuple[list[str], np.ndarray,
                                                                   np.ndarray]:
    """Sum contributions (n, p [+1]) per reason group.

    Returns ``(codes, sums (n, g), top_feature_index (n, g))``: the code of each group, the
    summed log-odds per customer and group, and per group the customer's strongest feature
    (index into ``features``).
    """
    c = contrib[:, :len(features)]
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(features):
        groups.setdefault(reason_code(registry[name].group), []).append(j)
    codes = list(groups)
    sums = np.zeros((len(c), len(codes)))
    top = np.zeros((len(c), len(codes)), dtype=int)
    for k, code in enumerate(codes):
        idx = np.asarray(groups[code])
        block = c[:, idx]
        sums[:, k] = block.sum(axis=1)
        top[:, k] = idx[np.argmax(block, axis=1)]
    return codes, sums, top


def top_reasons(contrib: np.ndarray, features: Sequence[str], registry: Mapping[str, Feature],
                k: int = TOP_REASONS) -> list[list[tuple[str, float, str]]]:
    """Per customer, up to ``k`` reasons ``(code, log-odds, top feature)`` that raise the
    risk, strongest first (groups with a positive sum only)."""
    codes, sums, top = group_contributions(contrib, features, registry)
    order = np.argsort(-sums, axis=1)[:, :k]
    out = []
    for i in range(len(sums)):
        row = []
        for g in order[i]:
            if sums[i, g] > 0:
                row.append((codes[g], float(sums[i, g]), features[top[i, g]]))
        out.append(row)
    return out


def reason_columns(reasons: list[list[tuple[str, float, str]]], rows: list[dict[str, Any]],
                   k: int = TOP_REASONS, languages: Sequence[str] = LANGUAGES
                   ) -> dict[str, list[Any]]:
    """The reason columns of the score output: ``reason_i`` (code) and ``reason_i_<lang>``."""
    cols: dict[str, list[Any]] = {}
    for i in range(1, k + 1):
        cols[f"reason_{i}"] = []
        for lang in languages:
            cols[f"reason_{i}_{lang}"] = []
    for rs, row in zip(reasons, rows, strict=True):
        for i in range(1, k + 1):
            if i <= len(rs):
                code, _, feat = rs[i - 1]
                cols[f"reason_{i}"].append(code)
                for lang in languages:
                    cols[f"reason_{i}_{lang}"].append(reason_sentence(code, row, lang, feat))
            else:
                cols[f"reason_{i}"].append(None)
                for lang in languages:
                    cols[f"reason_{i}_{lang}"].append(None)
    return cols
