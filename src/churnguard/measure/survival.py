"""Customer survival: Kaplan-Meier curves by segment, median lifetime, log-rank test.

Durations come from the churn labels: ``duration_days`` runs from an episode's ``start_at``
to its ``churn_at`` (event) or, for a censored episode, to ``observed_until`` (censoring),
in days (fractional). By default only first episodes are used (a customer's lifetime from
acquisition); ``episodes="all"`` treats every episode, reactivations included, as its own
lifetime. The estimates are lifelines' ``KaplanMeierFitter`` (Greenwood / exponential
log-log confidence bands, the median lifetime's CI from the band) and
``multivariate_logrank_test`` (one test of "all segments have the same survival").

A median is ``inf`` when the curve never falls to 0.5 in the data (more than half the
segment has not churned yet), and its upper bound is ``inf`` when the band never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.dimensions import customer_dimension
from churnguard.measure.labels import labels as workspace_labels

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

SUMMARY_COLUMNS = ("segment", "customers", "churned", "censored", "median_days",
                   "median_lower", "median_upper", "survival_90d", "survival_180d",
                   "survival_365d")
CURVE_COLUMNS = ("segment", "days", "survival", "lower", "upper", "at_risk", "events")


@dataclass(frozen=True)
class SurvivalResult:
    """Kaplan-Meier results as frames.

    ``summary``: one row per segment (:data:`SUMMARY_COLUMNS`); ``curves``: the step curves
    (:data:`CURVE_COLUMNS`); ``test``: the log-rank test (``test``, ``statistic``,
    ``degrees_of_freedom``, ``p_value``), empty with fewer than two segments; ``durations``:
    one row per episode (``customer_id, segment, duration_days, churned``).
    """

    summary: pd.DataFrame
    curves: pd.DataFrame
    test: pd.DataFrame
    durations: pd.DataFrame


def durations_table(labels: ir.Table, *, episodes: Literal["first", "all"] = "first"
                    ) -> ir.Table:
    """``(customer_id, episode, duration_days, churned)`` per episode, as a lazy Ibis table."""
    if episodes not in ("first", "all"):
        raise InputError(f"episodes must be 'first' or 'all'; got {episodes!r}")
    lab = labels.filter(labels.start_at.notnull(), labels.churn_at.notnull() | ~labels.churned)
    if episodes == "first":
        lab = lab.filter(lab.episode == 1)
    end = lab.churn_at.fill_null(lab.observed_until)
    seconds = end.epoch_seconds() - lab.start_at.epoch_seconds()
    return lab.select("customer_id", "episode", duration_days=seconds / 86400.0,
                      churned=lab.churned)


def kaplan_meier(durations: pd.DataFrame, *, alpha: float = 0.05) -> SurvivalResult:
    """Fit one Kaplan-Meier curve per ``segment`` of ``durations`` and a log-rank test.

    ``durations`` has ``segment``, ``duration_days`` (>= 0) and ``churned`` (bool).

    >>> d = pd.DataFrame({"segment": ["a"] * 4, "duration_days": [1.0, 2, 3, 4],
    ...                   "churned": [True, False, True, True]})
    >>> kaplan_meier(d).summary[["customers", "churned", "median_days"]].to_dict("records")
    [{'customers': 4, 'churned': 3, 'median_days': 3.0}]
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    rows, curves = [], []
    for seg, d in durations.groupby("segment", sort=True):
        kmf = KaplanMeierFitter(alpha=alpha).fit(d.duration_days, d.churned.astype(bool),
                                                 label="km")
        sf = kmf.survival_function_["km"]
        ci = kmf.confidence_interval_
        ci_med = median_survival_times(ci)
        table = kmf.event_table
        curves.append(pd.DataFrame({
            "segment": seg, "days": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(), "lower": ci.iloc[:, 0].to_numpy(),
            "upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": table["at_risk"].reindex(sf.index).to_numpy(dtype="int64"),
            "events": table["observed"].reindex(sf.index).to_numpy(dtype="int64"),
        }))

        def at(t: float, kmf: KaplanMeierFitter = kmf, d: pd.DataFrame = d) -> float:
            # unknown beyond the longest follow-up
            return float(kmf.predict(t)) if t <= d.duration_days.max() else np.nan

        rows.append({
            "segment": seg, "customers": len(d), "churned": int(d.churned.sum()),
            "censored": int((~d.churned.astype(bool)).sum()),
            "median_days": float(kmf.median_survival_time_),
            "median_lower": float(ci_med.iloc[0, 0]), "median_upper": float(ci_med.iloc[0, 1]),
            "survival_90d": at(90), "survival_180d": at(180), "survival_365d": at(365),
        })
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    curve = (pd.concat(curves, ignore_index=True) if curves
             else pd.DataFrame(columns=list(CURVE_COLUMNS)))
    test = pd.DataFrame(columns=["test", "statistic", "degrees_of_freedom", "p_value"])
    if durations.segment.nunique() >= 2:
        lr = multivariate_logrank_test(durations.duration_days, durations.segment,
                                       durations.churned.astype(bool))
        test = pd.DataFrame([{"test": "log-rank", "statistic": float(lr.test_statistic),
                              "degrees_of_freedom": int(lr.degrees_of_freedom),
                              "p_value": float(lr.p_value)}])
    return SurvivalResult(summary, curve, test, durations.reset_index(drop=True))


def survival(
    ws: Workspace,
    *,
    by: str | None = None,
    episodes: Literal["first", "all"] = "first",
    alpha: float = 0.05,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
) -> SurvivalResult:
    """Kaplan-Meier survival of a workspace's customers, optionally ``by`` a dimension.

    ``by`` is any breakdown of :mod:`churnguard.measure.dimensions` (``contract_type``,
    ``plan``, ``region``, bands ...); without it everyone is one segment, ``all``.
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1; got {alpha!r}")
    wh = ws.warehouse
    lab = workspace_labels(ws, as_of=as_of, definition=definition,
                           inactive_days=inactive_days, grace_days=grace_days)
    dur = durations_table(lab, episodes=episodes)
    if by is None:
        dur = dur.mutate(segment=dur.customer_id.isnull().ifelse("all", "all"))
    else:
        dim = customer_dimension(by, customers=wh.table("customers"),
                                 orders=wh.table("orders"), labels=lab)
        dur = dur.left_join(dim, "customer_id")
        dur = dur.mutate(segment=dur[by].fill_null("(missing)"))
    df = dur.select("customer_id", "segment", "duration_days", "churned").to_pandas()
    df["churned"] = df.churned.astype(bool)
    df = df.sort_values(["segment", "customer_id"], ignore_index=True)
    return kaplan_meier(df, alpha=alpha)
