"""Second lifetime value (SLTV) of lost customers, graded A-D (R11).

A *lost* customer is one whose latest episode (:func:`churnguard.measure.labels`) has
churned. Her SLTV = ``margin x P(reactivation) x value of a second life``:

P(reactivation)
    observed in history: the share of churned episodes followed by a new episode within
    ``horizon_months``, among episodes that churned at least ``horizon_months`` before
    ``as_of`` (younger ones have not had the time; if none is that old, all churned
    episodes count). Estimated per segment x reason and shrunk toward the segment rate,
    which is shrunk toward the overall rate (``prior_strength`` pseudo-episodes each:
    ``(reactivated + k p_parent) / (n + k)``), so small cells borrow strength.
reason
    ``cancel_reason`` of the episode's last ended subscription, else the latest
    ``feedback.reason`` given between the episode's start and 90 days after its churn.
value of a second life
    ``own_weight x`` her own revenue in the lost episode ``+ (1 - own_weight) x`` the mean
    revenue of second lives (reactivation episodes) in her segment, shrunk toward all
    second lives. Revenue = orders + subscription MRR x months covered.
grade
    A = top quarter of SLTV among lost customers, then B, C, D (``grade_quantiles``).

Point-in-time: only rows before ``as_of``. Revenue sums run as Ibis (range joins on the
engine); the per-episode arithmetic is pandas on one row per episode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.labels import TS, segment_column, to_utc

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

DAYS_PER_MONTH = 365.25 / 12
SLTV_COLUMNS = (
    "customer_id", "segment", "reason", "churn_at", "days_lost", "own_value", "peer_value",
    "second_life_value", "p_reactivation", "sltv", "grade",
)


def _episode_values(episodes: ir.Table, orders: ir.Table, subscriptions: ir.Table,
                    feedback: ir.Table, cut: dt.datetime) -> ir.Table:
    """Per episode: revenue (orders + MRR x months) and reason, as one Ibis expression."""
    ep = episodes.select(
        "customer_id", "episode", "start_at", "churn_at", "churned",
        end=ibis.coalesce(episodes.churn_at, episodes.observed_until).cast(TS),
    )
    o = orders.filter(orders.ordered_at < cut).select(
        "customer_id", ts=orders.ordered_at.cast(TS), amount=orders.amount.cast("float64"))
    jo = ep.join(o, [ep.customer_id == o.customer_id, o.ts >= ep.start_at, o.ts <= ep.end])
    rev_o = jo.group_by(["customer_id", "episode"]).aggregate(order_revenue=jo.amount.sum())

    s = subscriptions.filter(subscriptions.started_at < cut)
    s = s.select("customer_id", start=s.started_at.cast(TS),
                 stop=ibis.coalesce(s.ended_at, ibis.literal(cut, TS)).cast(TS),
                 mrr=s.mrr.cast("float64").fill_null(0.0), cancel_reason=s.cancel_reason)
    s = s.mutate(stop=ibis.least(s.stop, ibis.literal(cut, TS)))
    js = ep.join(s, [ep.customer_id == s.customer_id, s.start < ep.end, s.stop > ep.start_at])
    lo = ibis.greatest(js.start, js.start_at)
    hi = ibis.least(js.stop, js.end)
    secs = hi.epoch_seconds() - lo.epoch_seconds()
    js = js.mutate(sub_value=js.mrr * secs / (86_400.0 * DAYS_PER_MONTH))
    rev_s = js.group_by(["customer_id", "episode"]).aggregate(
        sub_revenue=js.sub_value.sum(),
        cancel_reason=js.cancel_reason.argmax(ibis.cases((js.cancel_reason.notnull(), js.stop),
                                                         else_=ibis.null(TS))),
    )
    f = feedback.filter(feedback.at < cut, feedback.reason.notnull())
    f = f.select("customer_id", fat=f.at.cast(TS), reason=f.reason)
    horizon = ep.end + ibis.interval(days=90)
    jf = ep.join(f, [ep.customer_id == f.customer_id, f.fat >= ep.start_at, f.fat <= horizon])
    fr = jf.group_by(["customer_id", "episode"]).aggregate(feedback_reason=jf.reason.argmax(jf.fat))

    out = (ep.left_join(rev_o, ["customer_id", "episode"])
           .left_join(rev_s, ["customer_id", "episode"])
           .left_join(fr, ["customer_id", "episode"]))
    return out.select(
        "customer_id", "episode", "start_at", "churn_at", "churned",
        revenue=out.order_revenue.fill_null(0.0) + out.sub_revenue.fill_null(0.0),
        reason=ibis.coalesce(out.cancel_reason, out.feedback_reason),
    )


def _shrunk(hits: pd.Series, n: pd.Series, prior: pd.Series | float, k: float) -> pd.Series:
    return (hits + k * prior) / (n + k)


def sltv_frame(
    episodes: ir.Table,
    orders: ir.Table,
    subscriptions: ir.Table,
    feedback: ir.Table,
    customers: ir.Table,
    *,
    as_of: str | dt.date | dt.datetime,
    segment_by: str | None = "plan",
    horizon_months: int = 12,
    own_weight: float = 0.5,
    prior_strength: float = 10.0,
    margin: float = 1.0,
    grade_quantiles: Sequence[float] = (0.25, 0.5, 0.75),
) -> pd.DataFrame:
    """SLTV and grade of every lost customer (see the module docstring).

    ``episodes`` is :func:`churnguard.measure.label_episodes` output as of ``as_of``.
    Returns a pandas DataFrame keyed by ``customer_id`` with :data:`SLTV_COLUMNS`, sorted
    by SLTV (highest first).
    """
    cut = to_utc(as_of)
    if cut is None:
        raise InputError("sltv needs an as_of date.")
    if not (0 <= own_weight <= 1 and 0 < margin <= 1 and prior_strength >= 0):
        raise InputError("own_weight must be in [0, 1], margin in (0, 1], prior_strength >= 0.")
    q = [float(v) for v in grade_quantiles]
    if len(q) != 3 or q != sorted(q) or not (q[0] > 0 and q[-1] < 1):
        raise InputError(f"grade_quantiles must be 3 increasing values in (0, 1), got {q}.")
    ep = _episode_values(episodes, orders, subscriptions, feedback, cut).to_pandas()
    cols = list(SLTV_COLUMNS)
    if ep.empty:
        return pd.DataFrame(columns=cols)
    if segment_by and (segment_by in customers.columns or segment_by.startswith("attributes.")):
        seg = customers.select("customer_id", segment=segment_column(customers, segment_by))
        seg_df = seg.to_pandas()
    else:
        seg_df = pd.DataFrame({"customer_id": ep["customer_id"].unique(), "segment": None})
    ep = ep.merge(seg_df, on="customer_id", how="left")
    ep["segment"] = ep["segment"].astype(object).where(ep["segment"].notna(), "(all)")
    ep["reason"] = ep["reason"].astype(object).where(ep["reason"].notna(), "(unknown)")
    ep = ep.sort_values(["customer_id", "episode"]).reset_index(drop=True)
    ep["next_start"] = ep.groupby("customer_id")["start_at"].shift(-1)
    churned = ep[ep["churned"].astype(bool)].copy()
    if churned.empty:
        return pd.DataFrame(columns=cols)

    # -- P(reactivation within the horizon), hierarchical shrinkage ---------------------
    window = pd.Timedelta(days=horizon_months * DAYS_PER_MONTH)
    cut_ts = pd.Timestamp(cut)
    mature = churned[churned["churn_at"] <= cut_ts - window]
    hist = mature if len(mature) else churned
    gap = hist["next_start"] - hist["churn_at"]
    hist = hist.assign(back=(hist["next_start"].notna() & (gap <= window)).astype(float))
    k = float(prior_strength)
    p0 = float(hist["back"].mean())
    by_seg = hist.groupby("segment")["back"].agg(["sum", "count"])
    p_seg = _shrunk(by_seg["sum"], by_seg["count"], p0, k)
    by_cell = hist.groupby(["segment", "reason"])["back"].agg(["sum", "count"]).reset_index()
    by_cell["p_parent"] = by_cell["segment"].map(p_seg)
    by_cell["p"] = _shrunk(by_cell["sum"], by_cell["count"], by_cell["p_parent"], k)

    # -- value of a second life -----------------------------------------------------------
    second = ep[ep["episode"] > 1]
    v0 = float(second["revenue"].mean()) if len(second) else float(ep["revenue"].mean())
    by_seg_v = second.groupby("segment")["revenue"].agg(["sum", "count"])
    peer = _shrunk(by_seg_v["sum"], by_seg_v["count"], v0, k)

    lost = churned[churned["next_start"].isna()].copy()
    cell = by_cell.set_index(["segment", "reason"])["p"]
    keys = pd.MultiIndex.from_frame(lost[["segment", "reason"]])
    p_cell = pd.Series(cell.reindex(keys).to_numpy(), index=lost.index)
    p_fallback = lost["segment"].map(p_seg).fillna(p0)
    lost["p_reactivation"] = p_cell.fillna(p_fallback)
    lost["own_value"] = lost["revenue"]
    lost["peer_value"] = lost["segment"].map(peer).fillna(v0)
    lost["second_life_value"] = (own_weight * lost["own_value"]
                                 + (1 - own_weight) * lost["peer_value"])
    lost["sltv"] = margin * lost["p_reactivation"] * lost["second_life_value"]
    lost["days_lost"] = (cut_ts - lost["churn_at"]).dt.days.astype("int64")
    lost["grade"] = grade(lost["sltv"].to_numpy(), q)
    return lost[cols].sort_values("sltv", ascending=False, kind="stable").reset_index(drop=True)


def grade(values: np.ndarray, quantiles: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
    """A (top) .. D by the quantiles of ``values`` (values above the top cut get A).

    >>> grade(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])).tolist()
    ['D', 'D', 'C', 'C', 'B', 'B', 'A', 'A']
    """
    if values.size == 0:
        return np.array([], dtype=object)
    c1, c2, c3 = np.quantile(values, list(quantiles))
    return np.select([values > c3, values > c2, values > c1], ["A", "B", "C"], "D")


def sltv(ws: Workspace, *, as_of: str | dt.date | dt.datetime | None = None,
         segment_by: str | None = "plan", horizon_months: int = 12,
         own_weight: float = 0.5, margin: float = 1.0) -> pd.DataFrame:
    """:func:`sltv_frame` on a workspace (labels from its ``[churn]`` config).

    ``as_of`` defaults to the latest timestamp in the data (the labels' observed_until).
    """
    from churnguard.measure import labels

    lab = labels(ws, as_of=as_of)
    if as_of is None:
        top = lab.aggregate(m=lab.observed_until.max()).to_pandas()
        if top.empty or pd.isna(top["m"].iloc[0]):
            raise InputError(f"{ws.root}: no customers to grade (the workspace is empty).")
        as_of = top["m"].iloc[0].to_pydatetime()
    wh = ws.warehouse
    return sltv_frame(lab, wh.table("orders"), wh.table("subscriptions"),
                      wh.table("feedback"), wh.table("customers"), as_of=as_of,
                      segment_by=segment_by, horizon_months=horizon_months,
                      own_weight=own_weight, margin=margin)
