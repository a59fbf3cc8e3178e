"""Did a campaign work? Retention lift against its randomised control arm (R26).

Retention of an assignee = not lost ``horizon_days`` (90) after assignment: outcome
``retained`` or ``reactivated`` counts 1, ``churned`` 0 (for a win-back, "retained" means
won back). A missing or ``unknown`` outcome is read from the churn labels
(:func:`churnguard.measure.labels`) when the window has been observed; otherwise the
assignee is left out and counted in ``undetermined``.

Lift = treated retention - control retention, with a confidence interval: Newcombe's
hybrid score interval (method 10 of Newcombe 1998, from two Wilson intervals; the
default), the normal approximation (Wald), or a parametric bootstrap; a two-sided p-value
of the pooled two-proportion z-test. :func:`sample_size` plans the next campaign.

>>> lo, hi = wilson_interval(8, 10)
>>> round(float(lo), 4), round(float(hi), 4)
(0.4902, 0.9433)
>>> r = lift(120, 200, 90, 200)
>>> round(r.diff, 3), round(r.low, 4), round(r.high, 4), round(r.p_value, 4)
(0.15, 0.0521, 0.2439, 0.0027)
>>> sample_size(0.65, 0.20, method="unpooled")   # Chow, Shao & Wang (2008), sec. 4.2: 70
70
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

Method = Literal["newcombe", "wald", "bootstrap"]
METHODS: tuple[str, ...] = ("newcombe", "wald", "bootstrap")
HORIZON_DAYS = 90
SUCCESS = {"retained": 1.0, "reactivated": 1.0, "churned": 0.0}


# -- statistics ---------------------------------------------------------------------------
def _z(level: float) -> float:
    if not 0 < level < 1:
        raise InputError(f"confidence level {level} must be between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(x: np.ndarray | float, n: np.ndarray | float,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``x / n`` (vectorised; n = 0 gives [0, 1]).

    >>> [round(float(v), 4) for v in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, x / n, 0.5)
        den = 1 + z * z / n
        mid = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return np.where(n > 0, mid - half, 0.0), np.where(n > 0, mid + half, 1.0)


def diff_interval(x1: np.ndarray | float, n1: np.ndarray | float, x0: np.ndarray | float,
                  n0: np.ndarray | float, *, level: float = 0.95,
                  method: Literal["newcombe", "wald"] = "newcombe",
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``p1 - p0`` and its interval, vectorised: Newcombe hybrid score or Wald.

    >>> [round(float(v), 4) for v in diff_interval(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    x1, n1, x0, n0 = (np.asarray(v, float) for v in (x1, n1, x0, n0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p0 = x1 / n1, x0 / n0
    d = p1 - p0
    if method == "wald":
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        z = _z(level)
        return d, d - z * se, d + z * se
    if method != "newcombe":
        raise InputError(f"interval method {method!r}: use newcombe or wald")
    l1, u1 = wilson_interval(x1, n1, level)
    l0, u0 = wilson_interval(x0, n0, level)
    lo = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, lo, hi


def p_value(x1: float, n1: float, x0: float, n0: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (chi-squared without correction).

    >>> round(p_value(56, 70, 48, 80), 4)
    0.008
    """
    if min(n1, n0) <= 0:
        return float("nan")
    pool = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n0))
    if se == 0:
        return 1.0
    return float(2 * stats.norm.sf(abs(x1 / n1 - x0 / n0) / se))


@dataclass(frozen=True)
class Lift:
    """Treated minus control rate with an interval (``low``, ``high``) and p-value."""

    treated_rate: float
    control_rate: float
    diff: float
    low: float
    high: float
    p_value: float
    n_treated: int
    n_control: int
    method: str
    level: float


def lift(x1: int, n1: int, x0: int, n0: int, *, level: float = 0.95,
         method: Method = "newcombe", n_boot: int = 4000, seed: int = 0) -> Lift:
    """Lift of ``x1/n1`` (treated) over ``x0/n0`` (control) with a ``level`` interval.

    ``bootstrap`` resamples each arm (for 0/1 outcomes a binomial draw at the arm's rate is
    exactly a resample) and takes percentiles.
    """
    if method not in METHODS:
        raise InputError(f"method {method!r}: use one of {', '.join(METHODS)}")
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        p1, p0 = x1 / max(n1, 1), x0 / max(n0, 1)
        b = rng.binomial(n1, p1, n_boot) / max(n1, 1) - rng.binomial(n0, p0, n_boot) / max(n0, 1)
        d, (lo, hi) = p1 - p0, np.quantile(b, [(1 - level) / 2, (1 + level) / 2])
    else:
        d_, lo_, hi_ = diff_interval(x1, n1, x0, n0, level=level, method=method)
        d, lo, hi = float(d_), float(lo_), float(hi_)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_rate, c_rate = np.float64(x1) / n1, np.float64(x0) / n0
    return Lift(float(t_rate), float(c_rate), float(d), float(lo), float(hi),
                p_value(x1, n1, x0, n0), int(n1), int(n0), method, level)


def mean_diff(y1: np.ndarray, y0: np.ndarray, *, level: float = 0.95) -> tuple[float, ...]:
    """Difference of means with a Welch normal interval: (diff, low, high).

    >>> [round(v, 3) for v in mean_diff(np.array([3.0, 5.0, 7.0]), np.array([1.0, 3.0]))]
    [3.0, 0.006, 5.994]
    """
    y1, y0 = np.asarray(y1, float), np.asarray(y0, float)
    if len(y1) < 2 or len(y0) < 2:
        return (float("nan"),) * 3
    d = float(y1.mean() - y0.mean())
    se = math.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    z = _z(level)
    return d, d - z * se, d + z * se


#: the largest arm :func:`sample_size` answers with (beyond it the effect is too small)
MAX_SAMPLE = 1e12


def sample_size(baseline: float, mde: float, *, alpha: float = 0.05, power: float = 0.8,
                ratio: float = 1.0, two_sided: bool = True,
                method: Literal["pooled", "unpooled", "arcsine"] = "pooled") -> int:
    """Assignees needed in the treated arm to detect ``baseline -> baseline + mde``.

    The control arm gets ``ratio`` times as many. With ``z_a`` = z(1 - alpha/2),
    ``z_b`` = z(power), p0 = baseline, p1 = p0 + mde, r = ratio, p = (p1 + r p0) / (1 + r):

    - pooled (Fleiss, no continuity correction; the usual textbook formula):
      ``n = (z_a sqrt(p(1-p)(1 + 1/r)) + z_b sqrt(p1(1-p1) + p0(1-p0)/r))^2 / mde^2``;
    - unpooled (Chow, Shao & Wang): ``n = (z_a + z_b)^2 (p1(1-p1) + p0(1-p0)/r) / mde^2``;
    - arcsine (Cohen's h, as statsmodels ``NormalIndPower`` with ``proportion_effectsize``):
      ``n = (z_a + z_b)^2 (1 + 1/r) / h^2``, ``h = 2 asin(sqrt p1) - 2 asin(sqrt p0)``.

    Rounded up.

    >>> sample_size(0.80, 0.05), sample_size(0.80, 0.05, method="arcsine")
    (906, 903)
    """
    p0, p1 = baseline, baseline + mde
    if not (0 < p0 < 1 and 0 < p1 < 1) or mde == 0 or mde * mde == 0:
        raise InputError(f"baseline {baseline} + effect {mde} must stay strictly between 0 "
                         "and 1, and the effect must not be 0")
    if not (0 < alpha < 1 and 0 < power < 1 and ratio > 0):
        raise InputError("alpha and power must be in (0, 1) and ratio > 0")
    z_a = float(stats.norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha))
    z_b = float(stats.norm.ppf(power))
    v1, v0 = p1 * (1 - p1), p0 * (1 - p0)
    if method == "pooled":
        p = (p1 + ratio * p0) / (1 + ratio)
        n = (z_a * math.sqrt(p * (1 - p) * (1 + 1 / ratio))
             + z_b * math.sqrt(v1 + v0 / ratio)) ** 2 / mde ** 2
    elif method == "unpooled":
        n = (z_a + z_b) ** 2 * (v1 + v0 / ratio) / mde ** 2
    elif method == "arcsine":
        h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))
        n = (z_a + z_b) ** 2 * (1 + 1 / ratio) / h ** 2
    else:
        raise InputError(f"sample-size method {method!r}: use pooled, unpooled or arcsine")
    if not math.isfinite(n) or n > MAX_SAMPLE:
        raise InputError(f"an effect of {mde:g} is too small to detect: it would take more "
                         f"than {MAX_SAMPLE:.0e} customers per arm")
    return math.ceil(n - 1e-9)


# -- campaigns in a workspace -------------------------------------------------------------
def campaigns(ws: Workspace) -> pd.DataFrame:
    """The campaigns table with arm counts, oldest first."""
    wh = ws.warehouse
    c = wh.table("campaigns").to_pandas()
    a = wh.table("assignments")
    n = a.group_by(["campaign_id", "arm"]).aggregate(n=a.count()).to_pandas()
    wide = n.pivot_table(index="campaign_id", columns="arm", values="n", fill_value=0)
    c = c.merge(wide.reset_index(), on="campaign_id", how="left")
    for arm in ("treatment", "control"):
        c[arm] = c.get(arm, pd.Series(0, index=c.index)).fillna(0).astype(int)
    return c.sort_values(["started_at", "campaign_id"], ignore_index=True)


def resolve_campaign(ws: Workspace, spec: str) -> str:
    """A campaign id from its id, its name, or the month it started (``[campaign-]YYYY-MM``)."""
    c = campaigns(ws)
    if spec in set(c["campaign_id"]):
        return spec
    by_name = c[c["name"].fillna("").str.lower() == spec.lower()]
    if len(by_name) == 1:
        return str(by_name["campaign_id"].iloc[0])
    m = re.fullmatch(r"(?:campaign-)?(\d{4}-\d{2})", spec.strip().lower())
    if m:
        month = pd.to_datetime(c["started_at"], utc=True).dt.strftime("%Y-%m")
        hits = c[month == m.group(1)]
        if len(hits) == 1:
            return str(hits["campaign_id"].iloc[0])
        if len(hits) > 1:
            raise InputError(f"{spec}: {len(hits)} campaigns started in {m.group(1)} "
                             f"({', '.join(hits['campaign_id'])}); name one by its id")
    known = ", ".join(f"{r.campaign_id} ({pd.Timestamp(r.started_at):%Y-%m})"
                      for r in c.itertuples()) or "none"
    raise InputError(f"{spec}: no such campaign (by id, name or start month YYYY-MM). "
                     f"Campaigns: {known}")


def campaign_outcomes(ws: Workspace, campaign_id: str, *,
                      horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """One row per assignment: arm, ``retained`` (1/0, NaN if undetermined), its source,
    cost, revenue in the window (orders + subscription MRR pro rata) and feedback scores."""
    from churnguard.measure.labels import labels
    from churnguard.predict.dataset import data_range, workspace_tables

    wh = ws.warehouse
    a = wh.table("assignments")
    df = a.filter(a.campaign_id == campaign_id).to_pandas()
    if df.empty:
        raise InputError(f"campaign {campaign_id} has no assignments")
    camp = wh.table("campaigns")
    goal = camp.filter(camp.campaign_id == campaign_id).goal.to_pandas()
    winback = bool(len(goal)) and goal.iloc[0] == "winback"
    start = pd.to_datetime(df["assigned_at"], utc=True)
    end = start + pd.Timedelta(days=horizon_days)
    outcome = df["outcome"].map(SUCCESS) if "outcome" in df else pd.Series(np.nan, df.index)
    # a window that runs past the data is undetermined, whatever the source says: before
    # it closes only the early outcomes are known (those already lost, or already back),
    # and a comparison of them alone is biased towards that outcome
    last = data_range(workspace_tables(ws)).last_at
    closed = end <= pd.Timestamp(last) if last is not None else pd.Series(False, df.index)
    outcome = outcome.where(closed)
    df["retained"], df["outcome_source"] = outcome, np.where(outcome.notna(), "assignment", "")
    who = list(df["customer_id"].unique())
    todo = df["retained"].isna() & closed
    if todo.any():
        lab = labels(ws).to_pandas()
        lab = lab[lab["customer_id"].isin(set(df.loc[todo, "customer_id"]))]
        df.loc[todo, "retained"] = [
            _from_labels(lab[lab["customer_id"] == c], s, e, winback)
            for c, s, e in zip(df.loc[todo, "customer_id"], start[todo], end[todo], strict=True)]
        df.loc[todo & df["retained"].notna(), "outcome_source"] = "labels"
    df["revenue"] = _revenue(ws, df, who, start, end)
    fb = wh.table("feedback")
    fb = fb.filter(fb.customer_id.isin(who), fb.score.notnull(), fb.source.isin(["nps", "csat"]))
    scores = fb.select("customer_id", "at", "source", "score").to_pandas()
    for src in ("nps", "csat"):
        s = scores[scores["source"] == src]
        df[src] = _window_mean(df, s, "at", "score", start, end)
    df["cost"] = df["cost"].fillna(0.0) if "cost" in df else 0.0
    keep = ["assignment_id", "customer_id", "arm", "assigned_at", "retained", "outcome_source",
            "cost", "revenue", "nps", "csat"]
    return df[keep]


def _from_labels(lab: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
                 winback: bool) -> float:
    if lab.empty:
        return float("nan")
    if pd.to_datetime(lab["observed_until"], utc=True).max() < end:
        # the window runs past the data: undetermined either way. Counting the customers
        # already lost (or already back) while the others wait would leave only one
        # outcome known, and every rate of the campaign would be biased towards it.
        return float("nan")
    if winback:
        back = pd.to_datetime(lab["start_at"], utc=True).between(start, end).any()
        return 1.0 if back else 0.0
    churn_at = pd.to_datetime(lab["churn_at"], utc=True)
    lost = (lab["churned"].astype(bool) & churn_at.between(start, end)).any()
    return 0.0 if lost else 1.0


def _window_mean(df: pd.DataFrame, events: pd.DataFrame, at: str, value: str,
                 start: pd.Series, end: pd.Series, how: str = "mean") -> np.ndarray:
    """Per assignment, ``how`` (mean or sum) of ``events[value]`` within its window."""
    if events.empty:
        return np.full(len(df), 0.0 if how == "sum" else np.nan)
    j = pd.DataFrame({"row": np.arange(len(df)), "customer_id": df["customer_id"].to_numpy(),
                      "s": start.to_numpy(), "e": end.to_numpy()}).merge(
        events[["customer_id", at, value]], on="customer_id")
    t = pd.to_datetime(j[at], utc=True)
    j = j[(t >= j["s"]) & (t < j["e"])]
    agg = j.groupby("row")[value].agg(how)
    out = np.full(len(df), 0.0 if how == "sum" else np.nan)
    out[agg.index.to_numpy()] = agg.to_numpy()
    return out


def _revenue(ws: Workspace, df: pd.DataFrame, who: list[str], start: pd.Series,
             end: pd.Series) -> np.ndarray:
    wh = ws.warehouse
    o = wh.table("orders")
    orders = o.filter(o.customer_id.isin(who)).select("customer_id", "ordered_at",
                                                      "amount").to_pandas()
    rev = _window_mean(df, orders, "ordered_at", "amount", start, end, how="sum")
    s = wh.table("subscriptions")
    subs = s.filter(s.customer_id.isin(who), s.mrr.notnull()).select(
        "customer_id", "started_at", "ended_at", "mrr").to_pandas()
    if subs.empty:
        return rev
    j = pd.DataFrame({"row": np.arange(len(df)), "customer_id": df["customer_id"].to_numpy(),
                      "s": start.to_numpy(), "e": end.to_numpy()}).merge(subs, on="customer_id")
    lo = np.maximum(pd.to_datetime(j["started_at"], utc=True), j["s"])
    hi = np.minimum(pd.to_datetime(j["ended_at"], utc=True).fillna(j["e"]), j["e"])
    days = ((hi - lo).dt.total_seconds() / 86400).clip(lower=0)
    add = (j["mrr"] * days / (365.25 / 12)).groupby(j["row"]).sum()
    rev[add.index.to_numpy()] += add.to_numpy()
    return rev


@dataclass(frozen=True)
class ExperimentResult:
    """The readout of one campaign."""

    campaign: dict[str, object]
    retention: Lift
    by_segment: pd.DataFrame
    revenue: dict[str, float]
    undetermined: int
    outcomes: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Overall and per-segment lift as one frame (segment ``all`` first)."""
        r = self.retention
        overall = pd.DataFrame([{"segment": "all", **_lift_row(r)}])
        return pd.concat([overall, self.by_segment], ignore_index=True)


def _lift_row(r: Lift) -> dict[str, float | int]:
    return {"n_treated": r.n_treated, "n_control": r.n_control,
            "treated_retention": r.treated_rate, "control_retention": r.control_rate,
            "lift": r.diff, "low": r.low, "high": r.high, "p_value": r.p_value}


def experiment(ws: Workspace, campaign: str, *, by: str | None = None, level: float = 0.95,
               method: Method = "newcombe", horizon_days: int = HORIZON_DAYS,
               n_boot: int = 4000, seed: int = 0) -> ExperimentResult:
    """Retention lift (and revenue lift) of ``campaign`` over its control arm."""
    cid = resolve_campaign(ws, campaign)
    info = campaigns(ws).set_index("campaign_id").loc[cid].to_dict()
    if not info.get("control"):
        raise InputError(f"campaign {cid} has no control arm: its effect cannot be measured. "
                         "Keep a random control group in the next one")
    out = campaign_outcomes(ws, cid, horizon_days=horizon_days)
    known = out[out["retained"].notna()]
    t, c = known[known["arm"] == "treatment"], known[known["arm"] == "control"]
    if t.empty or c.empty:
        raise InputError(f"campaign {cid}: no outcome known yet in one arm (outcomes are read "
                         f"{horizon_days} days after assignment); try again later")
    overall = lift(int(t["retained"].sum()), len(t), int(c["retained"].sum()), len(c),
                   level=level, method=method, n_boot=n_boot, seed=seed)
    segs = pd.DataFrame()
    if by:
        from churnguard.measure.labels import segment_column

        cust = ws.warehouse.table("customers")
        seg = cust.select(customer_id=cust.customer_id,
                          segment=segment_column(cust, by)).to_pandas()
        k = known.merge(seg, on="customer_id", how="left").fillna({"segment": "(none)"})
        rows = []
        for name, g in k.groupby("segment", sort=True):
            gt, gc = g[g["arm"] == "treatment"], g[g["arm"] == "control"]
            if gt.empty or gc.empty:
                continue
            r = lift(int(gt["retained"].sum()), len(gt), int(gc["retained"].sum()), len(gc),
                     level=level, method=method, n_boot=n_boot, seed=seed)
            rows.append({"segment": name, **_lift_row(r)})
        segs = pd.DataFrame(rows)
    net = out["revenue"] - out["cost"]
    arm_t = (out["arm"] == "treatment").to_numpy()
    rd = mean_diff(out["revenue"][arm_t], out["revenue"][~arm_t], level=level)
    nd = mean_diff(net[arm_t], net[~arm_t], level=level)
    revenue = {"revenue_lift": rd[0], "revenue_low": rd[1], "revenue_high": rd[2],
               "net_lift": nd[0], "net_low": nd[1], "net_high": nd[2],
               "cost_per_treated": float(out["cost"][arm_t].mean())}
    return ExperimentResult({"campaign_id": cid, **info}, overall, segs, revenue,
                            int(out["retained"].isna().sum()), out)


def campaign_periods(ws: Workspace, *, level: float = 0.95,
                     horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """Period over period: per campaign (oldest first) retention by arm, lift with interval,
    mean NPS / CSAT of assignees in the window, and the change against the previous
    campaign of the same goal. Campaigns without a control arm show treated numbers only."""
    rows = []
    for c in campaigns(ws).itertuples():
        out = campaign_outcomes(ws, str(c.campaign_id), horizon_days=horizon_days)
        known = out[out["retained"].notna()]
        t, k = known[known["arm"] == "treatment"], known[known["arm"] == "control"]
        r = lift(int(t["retained"].sum()), len(t), int(k["retained"].sum()), len(k),
                 level=level) if len(t) and len(k) else None
        rows.append({
            "campaign_id": c.campaign_id, "name": c.name, "goal": c.goal,
            "period": f"{pd.Timestamp(c.started_at):%Y-%m}" if pd.notna(c.started_at) else "",
            "n_treated": len(t), "n_control": len(k),
            "treated_retention": t["retained"].mean() if len(t) else np.nan,
            "control_retention": k["retained"].mean() if len(k) else np.nan,
            "lift": r.diff if r else np.nan, "low": r.low if r else np.nan,
            "high": r.high if r else np.nan, "p_value": r.p_value if r else np.nan,
            "nps_treated": out.loc[out["arm"] == "treatment", "nps"].mean(),
            "nps_control": out.loc[out["arm"] == "control", "nps"].mean(),
            "csat_treated": out.loc[out["arm"] == "treatment", "csat"].mean(),
            "undetermined": int(out["retained"].isna().sum()),
        })
    df = pd.DataFrame(rows)
    if not df.empty:
        df["retention_change"] = df.groupby("goal", dropna=False)["treated_retention"].diff()
        df["lift_change"] = df.groupby("goal", dropna=False)["lift"].diff()
    return df
