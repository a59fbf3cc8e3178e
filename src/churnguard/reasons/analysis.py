"""Why customers leave: every stated or written reason, one reason per churner, and shares.

Sources, in order of trust:

``structured``
    ``subscriptions.cancel_reason`` (mapped from free spellings by
    :func:`~churnguard.reasons.taxonomy.to_sub_reason`) and feedback carrying a
    ``reason`` / ``sub_reason`` label (e.g. a cancellation prompt's choice): used as given.
``model``
    free text of exit surveys, interviews, NPS comments and cancellation prompts, and
    ``subscriptions.cancel_text`` not already in the feedback, classified by the
    workspace's :class:`~churnguard.reasons.classifier.ReasonClassifier`.

:func:`churn_reasons` keeps one reason per customer and month (structured first, then the
most confident classified text); :func:`reason_shares` turns them into shares by month or
by any customers column.

>>> m = pd.DataFrame({"customer_id": ["a", "a", "b"], "month": ["2025-01"] * 3,
...                   "method": ["model", "structured", "model"],
...                   "sub_reason": ["price", "competitor", "unknown"],
...                   "reason": ["price", "competitor", "unknown"],
...                   "confidence": [0.9, 1.0, 0.2]})
>>> churn_reasons(m)[["customer_id", "sub_reason"]].to_dict("list")
{'customer_id': ['a', 'b'], 'sub_reason': ['competitor', 'unknown']}
>>> reason_shares(churn_reasons(m), by="month")[["month", "reason", "n", "share"]]
     month      reason  n  share
0  2025-01  competitor  1    0.5
1  2025-01     unknown  1    0.5
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churnguard.contract.reasons import SUB_REASONS
from churnguard.measure.labels import segment_column
from churnguard.reasons.taxonomy import UNKNOWN, to_main_reason, to_sub_reason

if TYPE_CHECKING:
    from churnguard.reasons.classifier import ReasonClassifier
    from churnguard.warehouse.workspace import Workspace

#: feedback sources that speak about leaving (NPS / CSAT comments come from customers who stay)
CHURN_SOURCES = ("cancel_prompt", "exit_survey", "interview")
MENTION_COLUMNS = ("customer_id", "at", "month", "source", "language", "text", "given",
                   "method", "sub_reason", "reason", "confidence")
_METHOD_RANK = {"structured": 0, "model": 1}


def _month(at: pd.Series) -> pd.Series:
    return pd.to_datetime(at, utc=True).dt.strftime("%Y-%m")


def reason_mentions(ws: Workspace, model: ReasonClassifier | None, *,
                    sources: tuple[str, ...] = CHURN_SOURCES,
                    include_subscriptions: bool = True) -> pd.DataFrame:
    """Every reason a customer gave or wrote, with its taxonomy code and how it was found.

    Feedback of ``sources`` plus (if asked) cancelled subscriptions. Without a ``model``
    unlabelled text stays ``unknown``.
    """
    wh = ws.warehouse
    fb = wh.table("feedback")
    fb = fb.filter(fb.source.isin(list(sources)))
    fbp = fb.select("customer_id", "at", "source", "language", "text", "reason",
                    "sub_reason").to_pandas()
    parts = [pd.DataFrame({
        "customer_id": fbp["customer_id"], "at": fbp["at"], "source": fbp["source"],
        "language": fbp["language"], "text": fbp["text"],
        "given": fbp["sub_reason"].fillna(fbp["reason"]),
    })]
    if include_subscriptions:
        subs = wh.table("subscriptions")
        subs = subs.filter(subs.ended_at.notnull(),
                           subs.cancel_reason.notnull() | subs.cancel_text.notnull())
        sp_ = subs.select("customer_id", "ended_at", "cancel_reason", "cancel_text").to_pandas()
        known = set(zip(fbp["customer_id"], fbp["text"].fillna(""), strict=True))
        dup = [(c, t) in known for c, t in zip(sp_["customer_id"], sp_["cancel_text"].fillna(""),
                                               strict=True)]
        parts.append(pd.DataFrame({
            "customer_id": sp_["customer_id"], "at": sp_["ended_at"], "source": "subscription",
            "language": None,
            "text": sp_["cancel_text"].where(~np.asarray(dup, bool), None),
            "given": sp_["cancel_reason"],
        }))
    m = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else parts[0]
    m = m[m["given"].notna() | m["text"].notna()].reset_index(drop=True)
    sub = m["given"].map(to_sub_reason)
    main = m["given"].map(to_main_reason)
    structured = main.notna()
    m["method"] = np.where(structured, "structured", "model")
    m["sub_reason"] = sub.where(sub.notna(), UNKNOWN)
    m["reason"] = main.where(main.notna(), UNKNOWN)
    m["confidence"] = np.where(structured, 1.0, 0.0)
    todo = ~structured & m["text"].notna()
    if model is not None and todo.any():
        out = model.classify(m.loc[todo, "text"].tolist())
        m.loc[todo, "sub_reason"] = out["sub_reason"].to_numpy()
        m.loc[todo, "reason"] = out["reason"].to_numpy()
        m.loc[todo, "confidence"] = out["confidence"].to_numpy()
    m["month"] = _month(m["at"])
    return m[list(MENTION_COLUMNS)].sort_values(["at", "customer_id"], ignore_index=True)


def churn_reasons(mentions: pd.DataFrame) -> pd.DataFrame:
    """One reason per customer and month: structured first, then the most confident text.

    A known reason beats ``unknown``; the result keeps the mention's columns.
    """
    if mentions.empty:
        return mentions.copy()
    m = mentions.assign(_unknown=(mentions["reason"] == UNKNOWN).astype(int),
                        _rank=mentions["method"].map(_METHOD_RANK).fillna(9))
    m = m.sort_values(["customer_id", "month", "_unknown", "_rank", "confidence"],
                      ascending=[True, True, True, True, False], kind="stable")
    first = m.drop_duplicates(["customer_id", "month"], keep="first")
    return first.drop(columns=["_unknown", "_rank"]).reset_index(drop=True)


def reason_shares(reasons: pd.DataFrame, *, by: str | None = None,
                  level: str = "reason") -> pd.DataFrame:
    """Counts and shares of each reason (``level``: reason or sub_reason) within ``by``.

    ``by`` is a column of ``reasons`` (``month``, or a segment joined by
    :func:`with_segment`); None gives the overall breakdown.
    """
    keys = [by] if by else []
    if reasons.empty:
        return pd.DataFrame(columns=[*keys, level, "n", "share"])
    n = reasons.groupby([*keys, level], dropna=False).size().rename("n").reset_index()
    total = n.groupby(keys)["n"].transform("sum") if keys else n["n"].sum()
    n["share"] = n["n"] / total
    return n.sort_values([*keys, "n"], ascending=[*([True] * len(keys)), False],
                         ignore_index=True)


def taxonomy_breakdown(reasons: pd.DataFrame) -> pd.DataFrame:
    """Main reason, sub-reason, count and share of all churners, biggest main reasons first."""
    if reasons.empty:
        return pd.DataFrame(columns=["reason", "sub_reason", "n", "share", "reason_share"])
    t = reasons.groupby(["reason", "sub_reason"]).size().rename("n").reset_index()
    t["share"] = t["n"] / t["n"].sum()
    t["reason_share"] = t.groupby("reason")["share"].transform("sum")
    return t.sort_values(["reason_share", "reason", "n"], ascending=[False, True, False],
                         ignore_index=True)


def with_segment(reasons: pd.DataFrame, ws: Workspace, column: str) -> pd.DataFrame:
    """``reasons`` with the customers ``column`` (or ``attributes.<name>``) added."""
    cust = ws.warehouse.table("customers")
    seg = cust.select(customer_id=cust.customer_id,
                      **{column: segment_column(cust, column)}).to_pandas()
    out = reasons.merge(seg, on="customer_id", how="left")
    out[column] = out[column].fillna("(none)")
    return out


def examples(mentions: pd.DataFrame, *, per_reason: int = 1) -> pd.DataFrame:
    """The most confident classified texts per sub-reason (what customers actually said)."""
    m = mentions[(mentions["method"] == "model") & (mentions["sub_reason"] != UNKNOWN)]
    m = m.sort_values("confidence", ascending=False, kind="stable")
    out = m.groupby("sub_reason", sort=False).head(per_reason)
    order = {c: i for i, c in enumerate(SUB_REASONS)}
    return out.sort_values("sub_reason", key=lambda s: s.map(order), ignore_index=True)[
        ["sub_reason", "reason", "language", "confidence", "text"]]
