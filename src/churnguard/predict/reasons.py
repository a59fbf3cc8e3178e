"""Reasons: per-customer feature contributions grouped into reason codes, in three languages.

The model's per-feature contributions (log-odds; per-tree path attribution when scoring,
see :mod:`.attribution`, or TreeSHAP on request) are summed per reason group of the
feature registry; the groups pushing the risk up most are the customer's reasons. Each reason code
(the group name with underscores: ``complaints``, ``falling_purchases`` ...) has sentence
templates in the message catalogue (:mod:`churnguard.i18n`), filled with the customer's
own numbers.

>>> row = {"complaints_30d": 3, "unresolved_complaints": 2}
>>> [reason_sentence("complaints", row, lang) for lang in ("en", "zh")]
['3 complaints in the last 30 days, 2 unresolved', '近30天投诉3次，其中2次未解决']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churnguard.i18n import LANGUAGES, format_number, message
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


def _round(f: float, digits: int) -> float:
    # numpy's rounding (not Python's), so the column-wise path rounds bit for bit alike
    return float(round(np.float64(f), digits))


def _r(v: Any, digits: int = 0) -> float | None:
    f = _num(v)
    return None if f is None else _round(f, digits)


def _attribute_name(feature: str) -> str:
    return feature.removeprefix("attr_").replace("_", " ")


def _value(v: Any, lang: str) -> Any:
    f = _num(v)
    if f is None and not isinstance(v, str):  # None, NaN, pd.NA
        return message("value.unknown", lang)
    return _round(f, 2) if f is not None and not isinstance(v, str) else v


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


# -- column-wise reasons for batch scoring ---------------------------------------------------
#
# Scoring a million customers cannot call :func:`reason_sentence` a million times (nine
# sentences each). The sentence of a reason depends only on a few of the customer's values,
# rounded as the template shows them, so the batch path groups the customers by those
# values, calls :func:`reason_sentence` once per distinct combination (the same function,
# so both paths agree word for word), and hands the output a dictionary-encoded column:
# one small table of sentences plus an index per customer.

#: codes whose sentence never depends on which feature of the group was strongest
_FIXED_CODES = frozenset({
    "inactivity", "falling_purchases", "engagement_drop", "no_contact", "unanswered_request",
    "complaints", "satisfaction", "price", "plan_change", "contract_ending", "tenure",
    "loyalty", "acquisition"})
_BGNBD = "bgnbd_expected_purchases"
#: the values each sentence reads, with the decimals it rounds them to (None: used as is,
#: e.g. in a condition on the raw value); text values are always used as is
_INPUTS: dict[str, tuple[tuple[str, int | None], ...]] = {
    "inactivity": (("days_since_last_activity", 0),),
    "falling_purchases": (("orders_90d", None), ("orders_prev_90d", None),
                          ("days_since_last_order", 0)),
    "engagement_drop": (("interactions_90d", 0), ("interactions_prev_90d", 0)),
    "no_contact": (("days_since_last_contact", 0),),
    "unanswered_request": (("open_requests", 0), ("days_oldest_open_request", 0)),
    "complaints": (("complaints_30d", 0), ("unresolved_complaints", 0)),
    "satisfaction": (("nps_last", 0), ("nps_change", 0), ("csat_last", 0)),
    "price": (("mrr", 2), ("mrr_change_90d", 2)),
    "plan_change": (("downgrades_365d", 0), ("plan_changes_365d", 0)),
    "contract_ending": (("contract_type", 2), ("months_to_renewal", 1)),
    "tenure": (("tenure_days", 0),),
    "loyalty": (("loyalty_tier", 2), ("loyalty_points", 0)),
    "acquisition": (("acquisition_channel", 2), ("first_offer", 2)),
}


def sentence_inputs(code: str, top_feature: str | None) -> tuple[tuple[str, int | None], ...]:
    """The values (and decimals) the sentence of ``code`` reads, mirroring
    :func:`reason_sentence` (a test checks the two agree on random customers)."""
    if top_feature and (top_feature.startswith("attr_") or code == "profile"):
        return ((top_feature, 2),)
    if code == "falling_purchases" and top_feature == _BGNBD:
        return ((_BGNBD, 1), ("_horizon_days", None))
    if code in _INPUTS:
        return _INPUTS[code]
    return ((top_feature or code, 2),)


@dataclass
class ReasonPlan:
    """How a model's per-feature contributions become reason groups (built once per model).

    ``groups[k]`` holds the feature positions of reason code ``codes[k]``. The sentences of
    the groups in ``top_needed`` name their strongest feature (custom attributes,
    ``profile``, BG/NBD expected purchases), so their features' own contributions are
    also needed: they are the columns after the groups in :meth:`matrix`, in the order of
    ``extra``.
    """

    features: list[str]
    codes: list[str]
    groups: list[np.ndarray]
    top_needed: list[int]
    extra: np.ndarray

    @classmethod
    def of(cls, features: Sequence[str], registry: Mapping[str, Feature]) -> ReasonPlan:
        """The plan of a model's feature list."""
        by: dict[str, list[int]] = {}
        for j, name in enumerate(features):
            by.setdefault(reason_code(registry[name].group), []).append(j)
        codes = list(by)
        groups = [np.asarray(by[c], dtype=np.int64) for c in codes]
        need = [k for k, c in enumerate(codes) if c not in _FIXED_CODES
                or any(features[j].startswith("attr_") for j in groups[k])
                or (c == "falling_purchases" and any(features[j] == _BGNBD
                                                     for j in groups[k]))]
        extra = (np.concatenate([groups[k] for k in need]) if need
                 else np.zeros(0, dtype=np.int64))
        return cls(list(features), codes, groups, need, extra)

    def matrix(self) -> np.ndarray:
        """(n_features, n_groups + len(extra)): feature contributions -> group sums, then
        the contributions of the ``extra`` features as they are."""
        p, g = len(self.features), len(self.codes)
        w = np.zeros((p, g + len(self.extra)))
        for k, idx in enumerate(self.groups):
            w[idx, k] = 1.0
        w[self.extra, g + np.arange(len(self.extra))] = 1.0
        return w

    def top(self, columns: np.ndarray, k: int = TOP_REASONS
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """From the columns of :meth:`matrix` (n, g + extra): per customer the ``k``
        strongest groups that raise the risk, ``(group (n, k), log-odds (n, k),
        feature (n, k))``; group -1 where fewer groups raise it, feature -1 where the
        sentence does not depend on it. Ties go to the first group, as in
        :func:`top_reasons`."""
        g = len(self.codes)
        sums = columns[:, :g]
        kk = min(k, g)
        order = np.argsort(-sums, axis=1, kind="stable")[:, :kk]
        val = np.take_along_axis(sums, order, axis=1)
        grp = np.where(val > 0, order, -1)
        feat = np.full(grp.shape, -1, dtype=np.int64)
        pos = g
        for gk in self.top_needed:
            idx = self.groups[gk]
            block = columns[:, pos:pos + len(idx)]
            best = idx[np.argmax(block, axis=1)]
            hit = grp == gk
            feat[hit] = np.broadcast_to(best[:, None], grp.shape)[hit]
            pos += len(idx)
        if kk < k:
            pad = k - kk
            grp = np.hstack([grp, np.full((len(grp), pad), -1)])
            val = np.hstack([val, np.zeros((len(val), pad))])
            feat = np.hstack([feat, np.full((len(feat), pad), -1)])
        return grp, np.where(grp >= 0, val, 0.0), feat


def sentence_columns(groups: np.ndarray, feats: np.ndarray, plan: ReasonPlan,
                     column: Callable[[str], np.ndarray], *, horizon_days: int = 90,
                     languages: Sequence[str] = LANGUAGES,
                     cache: dict[tuple[Any, ...], tuple[str, ...]] | None = None
                     ) -> dict[str, pa.Array]:
    """The reason columns of a batch: ``reason_i`` (code) and ``reason_i_<lang>``.

    ``groups`` / ``feats`` (n, k) come from :meth:`ReasonPlan.top` for the rows to explain;
    ``column(name)`` returns a feature's values for those rows (a NumPy array, None / NaN
    for missing). Each column comes back dictionary-encoded: the distinct sentences once,
    and an index per customer (null where the customer has fewer reasons).
    """
    n, k = groups.shape
    flat_g, flat_f = groups.reshape(-1), feats.reshape(-1)
    ids = np.full(n * k, -1, dtype=np.int64)
    sentences: dict[str, list[str]] = {lang: [] for lang in languages}
    known = {} if cache is None else cache
    cols: dict[str, np.ndarray] = {}

    def col(name: str) -> np.ndarray:
        if name not in cols:
            cols[name] = (np.full(n, horizon_days) if name == "_horizon_days"
                          else column(name))
        return cols[name]

    live = flat_g >= 0
    pair = flat_g.astype(np.int64) * (len(plan.features) + 1) + flat_f + 1
    for key in np.unique(pair[live]):
        gk, fj = divmod(int(key), len(plan.features) + 1)
        code, top_feature = plan.codes[gk], (plan.features[fj - 1] if fj else None)
        at = np.flatnonzero(pair == key)
        rows = at // k
        inputs = sentence_inputs(code, top_feature)
        combo = np.zeros(len(rows), dtype=np.int64)
        shown = []
        for name, digits in inputs:
            v = col(name)[rows]
            if digits is not None and v.dtype.kind in "fiu":
                v = _shown(v, digits)
            shown.append(v)
            c = pd.factorize(v, use_na_sentinel=True)[0] + 1
            combo = pd.factorize(combo * (int(c.max()) + 1) + c)[0]
        first = np.empty(int(combo.max()) + 1, dtype=np.int64)
        first[combo[::-1]] = np.arange(len(rows) - 1, -1, -1)
        base = len(sentences[languages[0]])
        # the values as shown identify the sentence across batches (plain Python values,
        # one list per input for the first customer of each combination); the sentence
        # itself is written from the customer's own (unrounded) values
        firsts = first.tolist()
        texts = []
        shown_first = ([tuple(t) for t in zip(*(_plain(v[first]) for v in shown),
                                              strict=True)]
                       if shown else [()] * len(firsts))
        for i, values in zip(firsts, shown_first, strict=True):
            key = (code, top_feature, *values)
            text = known.get(key)
            if text is None:
                row = {name: _scalar(col(name)[rows[i]]) for name, _ in inputs}
                text = known[key] = tuple(reason_sentence(code, row, lang, top_feature)
                                          for lang in languages)
            texts.append(text)
        for j, lang in enumerate(languages):
            sentences[lang].extend(t[j] for t in texts)
        ids[at] = base + combo
    out: dict[str, pa.Array] = {}
    code_dict = pa.array(plan.codes, pa.string())
    # two groups can write the same words (a language may not show a difference): one
    # dictionary entry per distinct sentence, as readers such as pandas require
    remap = {}
    for lang in languages:
        codes, uniq = pd.factorize(np.array(sentences[lang], dtype=object))
        remap[lang] = (np.append(codes, -1).astype(np.int64), pa.array(uniq, pa.string()))
    for i in range(k):
        gi = groups[:, i]
        out[f"reason_{i + 1}"] = pa.DictionaryArray.from_arrays(
            pa.array(gi, pa.int32(), mask=gi < 0), code_dict)
        si = ids.reshape(n, k)[:, i]
        for lang in languages:
            codes, uniq = remap[lang]
            li = codes[si]  # -1 (no reason) picks the appended -1
            out[f"reason_{i + 1}_{lang}"] = pa.DictionaryArray.from_arrays(
                pa.array(li, pa.int32(), mask=li < 0), uniq)
    return out


def _shown(values: np.ndarray, digits: int) -> np.ndarray:
    """A number column as the sentences show it: rounded to ``digits`` as
    :func:`reason_sentence` rounds it, then written by :func:`format_number` (at most one
    decimal), so 21.63 and 21.64 fall together ("21.6"). Every language writes the same
    digits (Persian only swaps the glyphs), so English text identifies the sentence.
    Missing values stay missing."""
    r = np.round(values.astype(np.float64), digits)
    inv, uniq = pd.factorize(r, use_na_sentinel=False)  # hashing: no sort of the column
    text = np.array([None if math.isnan(u) else format_number(u, "en")
                     for u in np.asarray(uniq).tolist()], dtype=object)
    return text[inv]


def _plain(values: np.ndarray) -> list[Any]:
    """:func:`_scalar` of every value, vectorised (NaN and NA as None)."""
    if values.dtype.kind == "f":
        return [None if x != x else x for x in values.tolist()]  # x != x: NaN
    if values.dtype.kind in "iub":
        return values.tolist()
    return [_scalar(x) for x in values.tolist()]


def _scalar(v: Any) -> Any:
    """A NumPy value as a plain Python one (None for missing)."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v
