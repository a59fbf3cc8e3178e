"""The table rules are evaluated on: one row per active customer as of a date.

Point-in-time features (:mod:`churnguard.predict.features`), the customer's owner, RFM
segment and scores, CLV / P(alive) / value band from the value layer, and the churn model's
probability and risk band from ``score_history`` (written by ``churnguard score`` or the
daily run) — each layer only when it is available; :attr:`RuleInputs.missing` says why a
layer is absent, so rules that need it are skipped with that note instead of guessed.

``value_at_stake`` is ``churn_probability x clv`` when both exist (expected loss), else
``clv``, else the last 12 months' revenue (orders + 12 x MRR); ``value_basis`` names which.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from churnguard.errors import ChurnguardError
from churnguard.measure.definitions import ChurnRules
from churnguard.measure.labels import label_episodes
from churnguard.predict.features import build_features

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

SCORE_TABLE = "score_history"
_EVENT_SCHEMAS = {
    "orders": {"customer_id": "string", "ordered_at": "timestamp('UTC')", "amount": "float64"},
    "interactions": {"customer_id": "string", "at": "timestamp('UTC')", "direction": "string"},
    "subscriptions": {"customer_id": "string", "subscription_id": "string",
                      "started_at": "timestamp('UTC')", "ended_at": "timestamp('UTC')"},
}


@dataclass
class RuleInputs:
    """The rule input frame and what is missing from it."""

    as_of: datetime
    frame: pd.DataFrame
    #: layer -> why it is missing (``model``, ``value``, ``rfm``)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _tables(ws: Workspace) -> dict[str, Any]:
    wh = ws.warehouse
    names = set(wh.ibis.list_tables())
    return {n: wh.table(n) for n in ("customers", "orders", "interactions", "subscriptions",
                                     "tickets", "feedback") if n in names}


def active_customers(ws: Workspace, as_of: datetime) -> ibis.Table:
    """``customer_id`` of the customers whose latest episode is not churned as of ``as_of``."""
    t = _tables(ws)

    def get(name: str) -> Any:
        if name in t:
            return t[name]
        schema = _EVENT_SCHEMAS[name]
        return ibis.memtable(pd.DataFrame({c: pd.Series(dtype="object") for c in schema}),
                             schema=schema)

    lab = label_episodes(t["customers"], get("orders"), get("interactions"),
                         get("subscriptions"), rules=ChurnRules.from_config(ws.config.churn),
                         as_of=as_of)
    lab = lab.mutate(_rk=ibis.row_number().over(group_by="customer_id",
                                                order_by=ibis.desc("episode")))
    return lab.filter(lab._rk == 0, ~lab.churned).select("customer_id")


def model_scores(ws: Workspace, as_of: datetime) -> pd.DataFrame | None:
    """The newest scores of ``as_of``'s day from ``score_history``, or None if there are none."""
    con = ws.warehouse.ibis
    if SCORE_TABLE not in con.list_tables():
        return None
    t = con.table(SCORE_TABLE)
    day = t.as_of.date() == ibis.date(as_of.date())
    t = t.filter(day)
    t = t.mutate(_rk=ibis.row_number().over(group_by="customer_id",
                                            order_by=ibis.desc("scored_at")))
    df = t.filter(t._rk == 0).select("customer_id", "churn_probability", "risk_band",
                                     "model_version").to_pandas()
    return df if len(df) else None


def value_columns(ws: Workspace, as_of: datetime) -> pd.DataFrame:
    """CLV, P(alive) and value band per customer (raises ChurnguardError if unfittable)."""
    from churnguard.value.pipeline import clv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = clv(ws, as_of=as_of)
    return df[["customer_id", "clv", "p_alive", "value_band"]].astype({"customer_id": str})


def rfm_columns(ws: Workspace, as_of: datetime) -> pd.DataFrame:
    """RFM segment and scores per customer."""
    from churnguard.value.rfm import rfm

    df = rfm(ws, as_of=as_of).select("customer_id", "segment", "r_score", "f_score",
                                    "m_score").to_pandas()
    return df.rename(columns={"segment": "rfm_segment"}).astype({"customer_id": str})


def rule_inputs(ws: Workspace, as_of: datetime, *, scores: pd.DataFrame | None = None,
                value: pd.DataFrame | None = None, use_value: bool = True) -> RuleInputs:
    """Assemble the rule input frame of the active customers as of ``as_of``.

    ``scores`` / ``value`` may be passed in (the daily run already has them); otherwise
    they are read from ``score_history`` and fitted from the orders.
    """
    missing: dict[str, str] = {}
    notes: list[str] = []
    pop = active_customers(ws, as_of)
    frame = build_features(_tables(ws), as_of, customers=pop).order_by("customer_id").to_pandas()
    frame["customer_id"] = frame["customer_id"].astype(str)
    cust = ws.warehouse.table("customers")
    if "owner" in cust.columns:
        owners = cust.select("customer_id", "owner").to_pandas().astype({"customer_id": str})
        frame = frame.merge(owners.drop_duplicates("customer_id"), on="customer_id",
                            how="left")
    if scores is None:
        scores = model_scores(ws, as_of)
    if scores is None:
        missing["model"] = ("no churn model is active: no scores in score_history for "
                            f"{as_of.date()} (train a model with `churnguard train`, then "
                            "`churnguard run` scores); rules on churn_probability / "
                            "risk_band are skipped, not guessed")
    else:
        frame = frame.merge(scores[["customer_id", "churn_probability", "risk_band"]]
                            .astype({"customer_id": str}), on="customer_id", how="left")
    if value is None and use_value:
        try:
            value = value_columns(ws, as_of)
        except (ChurnguardError, ValueError, ArithmeticError) as exc:
            missing["value"] = f"the value models could not be fitted: {exc}"
    elif value is None:
        missing["value"] = "the value step was not run"
    if value is not None:
        frame = frame.merge(value, on="customer_id", how="left")
    try:
        frame = frame.merge(rfm_columns(ws, as_of), on="customer_id", how="left")
    except (ChurnguardError, ValueError) as exc:
        missing["rfm"] = f"no RFM scores: {exc}"
    frame["value_at_stake"], frame["value_basis"] = _value_at_stake(frame)
    log.info("rule inputs as of %s: %d active customers, missing layers: %s",
             as_of.date(), len(frame), ", ".join(missing) or "none")
    return RuleInputs(as_of, frame, missing, notes)


def _value_at_stake(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    revenue = (frame.get("amount_365d", pd.Series(0.0, index=frame.index)).fillna(0.0)
               + 12 * frame.get("mrr", pd.Series(0.0, index=frame.index)).fillna(0.0))
    stake = revenue.to_numpy(dtype=float)
    basis = np.full(n, "revenue of the last 12 months", dtype=object)
    if "clv" in frame:
        clv = frame["clv"].to_numpy(dtype=float)
        has = ~np.isnan(clv)
        stake = np.where(has, clv, stake)
        basis = np.where(has, "12-month CLV", basis)
        if "churn_probability" in frame:
            p = frame["churn_probability"].to_numpy(dtype=float)
            both = has & ~np.isnan(p)
            stake = np.where(both, p * clv, stake)
            basis = np.where(both, "churn probability x 12-month CLV", basis)
    return stake, basis


__all__ = [
    "RuleInputs",
    "active_customers",
    "model_scores",
    "rfm_columns",
    "rule_inputs",
    "value_columns",
]
