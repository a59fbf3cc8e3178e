"""Churned vs active customers (R5): which behaviours differ, by how much, how sure we are.

Each customer's latest episode puts them in ``churned`` or ``active`` and fixes a reference
date; behaviours are counted in the ``window_days`` before it (see
:mod:`churnguard.measure.behaviour`). Only customers who had been customers for the whole
window (``start_at <= reference - window_days``) are compared, so a new customer's short
history does not pass for low activity.

One row per comparison:

* a **count or amount** (complaints, tickets, resolution hours, promotions, events attended,
  e-mail engagement, orders, order amount): the two group means, their difference, Cohen's
  d (pooled standard deviation) as effect size, Welch's t-test (``p_value``) and the
  Mann-Whitney U test (``p_mann_whitney``, for skewed counts);
* a **rate** (had a complaint, took a promotion, last product = X): the two group shares,
  the risk difference as effect size and a chi-square test on the 2x2 table (no continuity
  correction).

``q_value`` is the Benjamini-Hochberg adjusted p-value over all rows
(``scipy.stats.false_discovery_control``); ``standardized_effect`` puts both kinds on one
scale (Cohen's d, or Cohen's h = 2 asin sqrt p1 - 2 asin sqrt p2 for rates). Rows are sorted
by importance: those with ``q_value < alpha`` first, then by ``|standardized_effect|``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from churnguard.errors import InputError
from churnguard.measure.behaviour import NUMERIC_BEHAVIOURS, behaviours, reference_dates
from churnguard.measure.labels import labels as workspace_labels

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

COMPARE_COLUMNS = ("behaviour", "kind", "churned_value", "active_value", "difference",
                   "effect_size", "effect", "standardized_effect", "test", "p_value",
                   "p_mann_whitney", "q_value", "n_churned", "n_active")
RATES = {"had_complaint": "complaints", "took_promotion": "promotions"}


def parse_window(text: str | int) -> int:
    """A window in days from ``90``, ``"90d"``, ``"12w"``, ``"3m"`` (30 days) or ``"1y"``.

    >>> parse_window("90d"), parse_window("12w"), parse_window("3m"), parse_window(30)
    (90, 84, 90, 30)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        days = text
    else:
        s = str(text).strip().lower()
        unit = {"d": 1, "w": 7, "m": 30, "y": 365}.get(s[-1:])
        try:
            days = int(s[:-1]) * unit if unit else int(s)
        except ValueError:
            raise InputError(f"window {text!r} is not a length; write e.g. 90d, 12w, 3m or 1y"
                             ) from None
    if days < 1:
        raise InputError(f"window must be at least one day; got {text!r}")
    return days


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """Difference of means over the pooled standard deviation (nan when it is 0).

    >>> round(cohens_d(np.array([2.0, 1.0]), np.array([0.0, 0.0, 1.0])), 4)
    1.8708
    """
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan")
    pooled = ((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2)
    return float((a.mean() - b.mean()) / np.sqrt(pooled)) if pooled > 0 else float("nan")


def _numeric_row(name: str, a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    p = pmw = float("nan")
    if len(a) >= 2 and len(b) >= 2 and (a.var() > 0 or b.var() > 0):
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        pmw = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    d = cohens_d(a, b)
    ma = float(a.mean()) if len(a) else float("nan")
    mb = float(b.mean()) if len(b) else float("nan")
    return {"behaviour": name, "kind": "mean", "churned_value": ma, "active_value": mb,
            "difference": ma - mb, "effect_size": d, "effect": "Cohen's d",
            "standardized_effect": d, "test": "Welch t", "p_value": p, "p_mann_whitney": pmw,
            "n_churned": len(a), "n_active": len(b)}


def _rate_row(name: str, a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    ya, yb = int(a.sum()), int(b.sum())
    pa, pb = ya / len(a), yb / len(b)
    table = np.array([[ya, len(a) - ya], [yb, len(b) - yb]])
    p = float("nan")
    if table.sum(axis=0).all():
        p = float(stats.chi2_contingency(table, correction=False).pvalue)
    h = 2 * np.arcsin(np.sqrt(pa)) - 2 * np.arcsin(np.sqrt(pb))
    return {"behaviour": name, "kind": "rate", "churned_value": pa, "active_value": pb,
            "difference": pa - pb, "effect_size": pa - pb, "effect": "risk difference",
            "standardized_effect": float(h), "test": "chi-square", "p_value": p,
            "p_mann_whitney": float("nan"), "n_churned": len(a), "n_active": len(b)}


def compare_groups(frame: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The comparison table from one row per customer (``group`` and the behaviours)."""
    churned = frame[frame.group == "churned"]
    active = frame[frame.group == "active"]
    if churned.empty or active.empty:
        raise InputError(
            f"nothing to compare: {len(churned)} churned and {len(active)} active customers "
            "with a full window of history. Try 1) a shorter --window, 2) a later --as-of"
        )
    rows = []
    for name in NUMERIC_BEHAVIOURS:
        rows.append(_numeric_row(name, churned[name].to_numpy(dtype=float),
                                 active[name].to_numpy(dtype=float)))
    for name, col in RATES.items():
        rows.append(_rate_row(name, churned[col].to_numpy() > 0, active[col].to_numpy() > 0))
    for product in sorted(frame.last_product.unique()):
        rows.append(_rate_row(f"last_product = {product}",
                              (churned.last_product == product).to_numpy(),
                              (active.last_product == product).to_numpy()))
    out = pd.DataFrame(rows)
    ok = out.p_value.notna()
    out["q_value"] = np.nan
    if ok.any():
        out.loc[ok, "q_value"] = stats.false_discovery_control(out.loc[ok, "p_value"])
    out["_sig"] = ~(out.q_value < alpha)
    out["_size"] = -out.standardized_effect.abs().fillna(0)
    out = out.sort_values(["_sig", "_size", "behaviour"], kind="stable", ignore_index=True)
    return out[list(COMPARE_COLUMNS)]


def customer_behaviours(labels: ir.Table, ws: Workspace, *, window_days: int) -> ir.Table:
    """Reference dates and behaviours of a workspace's customers (lazy Ibis)."""
    wh = ws.warehouse
    return behaviours(reference_dates(labels), orders=wh.table("orders"),
                      interactions=wh.table("interactions"), tickets=wh.table("tickets"),
                      window_days=window_days)


def compare(
    ws: Workspace,
    *,
    window: str | int = "90d",
    alpha: float = 0.05,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
) -> pd.DataFrame:
    """Churned vs active customers of a workspace, behaviour by behaviour (module docstring).

    Returns :data:`COMPARE_COLUMNS`, most important differences first.
    """
    days = parse_window(window)
    lab = workspace_labels(ws, as_of=as_of, definition=definition,
                           inactive_days=inactive_days, grace_days=grace_days)
    b = customer_behaviours(lab, ws, window_days=days)
    b = b.filter(b.start_at <= b.window_start)
    return compare_groups(b.to_pandas(), alpha=alpha)
