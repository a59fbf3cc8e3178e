"""The value report: fit diagnostics and plots as one self-contained HTML file.

Sections: calibration / holdout check of the BG/NBD (predicted vs actual holdout purchases
by calibration frequency; cumulative repeat-purchase tracking), parameter tables with
standard errors, the Gamma-Gamma independence check, the CLV distribution and the
contractual retention curves (fitted sBG vs Kaplan-Meier). Plotly draws the charts; its
JavaScript is embedded once (``include_plotlyjs=True``), so the file opens offline.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnguard.errors import ChurnguardError, InputError
from churnguard.timeutil import to_utc
from churnguard.value.bg_nbd import BetaGeo
from churnguard.value.summary import rfm_summary

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace


@dataclass
class Holdout:
    """Calibration / holdout check of a BG/NBD fit."""

    model: BetaGeo
    by_frequency: pd.DataFrame  # frequency, customers, actual, predicted
    tracking: pd.DataFrame  # week, actual, predicted (cumulative repeat purchases)
    calibration_end: dt.date
    observation_end: dt.date


def holdout_check(orders: ir.Table, *, as_of: str | dt.date | dt.datetime,
                  holdout_weeks: int = 26, max_frequency: int = 7) -> Holdout:
    """Fit the BG/NBD on the data up to ``holdout_weeks`` before ``as_of``, test on the rest.

    >>> from churnguard.value.report import Holdout
    >>> sorted(Holdout.__dataclass_fields__)[:2]
    ['by_frequency', 'calibration_end']
    """
    cut = to_utc(as_of)
    assert cut is not None
    obs_end = (cut - dt.timedelta(days=1)).date()
    cal_end = obs_end - dt.timedelta(weeks=holdout_weeks)
    before = orders.filter(orders.ordered_at < cut)
    s = rfm_summary(before, observation_end=obs_end, calibration_end=cal_end).to_pandas()
    if (s["frequency"] > 0).sum() < 10:
        raise InputError(f"too few repeat customers before {cal_end} for a holdout check; "
                         "use a shorter --holdout or a later --as-of.")
    bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    pred = bg.conditional_expected_purchases(s["duration_holdout"].iloc[0], s["frequency"],
                                             s["recency"], s["T"])
    band = s["frequency"].clip(upper=max_frequency)
    by = pd.DataFrame({"frequency": band, "actual": s["frequency_holdout"], "predicted": pred})
    by = by.groupby("frequency").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                     predicted=("predicted", "mean")).reset_index()
    # cumulative tracking: every calibration customer from her first purchase day
    ts = before.ordered_at
    days = before.select("customer_id", day=ts.cast("timestamp").date()).distinct().to_pandas()
    first = days.groupby("customer_id")["day"].transform("min")
    days = days[days["customer_id"].isin(set(s["customer_id"]))]
    first = first.loc[days.index]
    start = pd.Timestamp(min(first))
    repeat_days = pd.to_datetime(days.loc[days["day"] > first, "day"])
    n_weeks = int((pd.Timestamp(obs_end) - start).days // 7) + 1
    week_of = ((repeat_days - start).dt.days // 7).to_numpy()
    actual = np.cumsum(np.bincount(week_of, minlength=n_weeks)[:n_weeks])
    firsts = pd.to_datetime(first.groupby(days["customer_id"]).min())
    f_days, f_count = np.unique((firsts - start).dt.days.to_numpy(), return_counts=True)
    ends = (np.arange(1, n_weeks + 1) * 7.0)[:, None]
    age = np.clip(ends - f_days[None, :] - 1.0, 0.0, None) / 7.0
    ex = np.asarray(bg.expected_purchases_new_customer(age.reshape(-1))).reshape(age.shape)
    predicted = ex @ f_count
    tracking = pd.DataFrame({"week": np.arange(1, n_weeks + 1), "actual": actual,
                             "predicted": predicted,
                             "week_start": start + pd.to_timedelta(np.arange(n_weeks) * 7,
                                                                   unit="D")})
    return Holdout(bg, by, tracking, cal_end, obs_end)


def _table(df: pd.DataFrame, digits: int = 4) -> str:
    return df.to_html(float_format=lambda v: f"{v:.{digits}g}", na_rep="", border=0,
                      classes="t")


def _fig_html(fig: Any, first: bool) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=bool(first),
                           config={"displaylogo": False}))


def build_report(
    *,
    title: str,
    holdout: Holdout | None,
    models: Any | None,
    clv: pd.DataFrame | None,
    curves: pd.DataFrame | None,
    retention_fits: dict[int, Any] | None,
    notes: list[str],
) -> str:
    """Assemble the HTML from whatever parts could be computed (missing parts are noted)."""
    import plotly.graph_objects as go

    parts: list[str] = []
    first = True

    def add_fig(fig: Any) -> None:
        nonlocal first
        fig.update_layout(template="plotly_white", height=380, margin={"t": 50})
        parts.append(_fig_html(fig, first))
        first = False

    if holdout is not None:
        parts.append(f"<h2>BG/NBD calibration / holdout</h2><p>Calibration to "
                     f"{holdout.calibration_end}, holdout to {holdout.observation_end}.</p>")
        b = holdout.by_frequency
        labels = [f"{v}+" if i == len(b) - 1 else str(v) for i, v in enumerate(b.frequency)]
        fig = go.Figure([go.Bar(name="actual", x=labels, y=b.actual),
                         go.Bar(name="predicted", x=labels, y=b.predicted)])
        fig.update_layout(title="Mean holdout purchases by calibration frequency",
                          xaxis_title="repeat purchases in calibration", barmode="group")
        add_fig(fig)
        parts.append(_table(b.set_index("frequency")))
        t = holdout.tracking
        fig = go.Figure([go.Scatter(name="actual", x=t.week_start, y=t.actual),
                         go.Scatter(name="predicted", x=t.week_start, y=t.predicted,
                                    line={"dash": "dash"})])
        fig.add_vline(x=pd.Timestamp(holdout.calibration_end).timestamp() * 1000,
                      line_dash="dot")
        fig.update_layout(title="Cumulative repeat purchases (tracking)",
                          yaxis_title="repeat purchases")
        add_fig(fig)
    if models is not None:
        parts.append("<h2>Parameters (maximum likelihood, standard errors)</h2>")
        bg, gg = models.purchase_model, models.spend_model
        parts.append(f"<h3>BG/NBD</h3><p>{bg.n_customers_:,} customers, log-likelihood "
                     f"{bg.log_likelihood_:,.1f}</p>{_table(bg.summary())}")
        parts.append(f"<h3>Gamma-Gamma</h3><p>{gg.n_customers_:,} repeat customers</p>"
                     f"{_table(gg.summary())}")
        ic = models.independence
        if ic is not None:
            verdict = ("Weak: the assumption looks acceptable." if abs(ic.correlation) <= 0.3
                       else "Strong: spend forecasts may be biased.")
            parts.append(
                f"<h3>Gamma-Gamma independence check</h3><p>Pearson correlation of "
                f"frequency and average spend: <b>{ic.correlation:.3f}</b> (p = "
                f"{ic.p_value:.3g}). {verdict}</p>")
            rep = models.summary[models.summary["frequency"] > 0]
            fig = go.Figure(go.Scatter(x=rep.frequency, y=rep.monetary_value, mode="markers",
                                       marker={"size": 4, "opacity": 0.4}))
            fig.update_layout(title="Average repeat spend vs frequency",
                              xaxis_title="repeat purchases", yaxis_title="average spend",
                              yaxis_type="log")
            add_fig(fig)
    if clv is not None and len(clv):
        parts.append("<h2>CLV distribution</h2>")
        fig = go.Figure(go.Histogram(x=clv["clv"], nbinsx=60))
        fig.update_layout(title="CLV per customer", xaxis_title="CLV", yaxis_type="log")
        add_fig(fig)
        desc = clv["clv"].describe(percentiles=[0.5, 0.8, 0.95]).to_frame().T
        parts.append(_table(desc))
        cells = clv.groupby(["value_band", "risk_band"]).agg(
            customers=("clv", "size"), clv=("clv", "sum")).reset_index()
        parts.append("<h3>Value x risk</h3>" + _table(cells, 6))
    if curves is not None and len(curves):
        parts.append("<h2>Contractual retention (sBG)</h2>")
        for months, g in curves.groupby("period_months"):
            fig = go.Figure([
                go.Scatter(name="observed (Kaplan-Meier)", x=g.months, y=g.survival_observed,
                           mode="lines+markers"),
                go.Scatter(name="fitted", x=g.months, y=g.survival_fitted,
                           line={"dash": "dash"})])
            fig.update_layout(title=f"{months}-month contracts: share still customers",
                              xaxis_title="months since start", yaxis_range=[0, 1.02])
            add_fig(fig)
        for months, m in (retention_fits or {}).items():
            parts.append(f"<h3>{months}-month contracts: {type(m).__name__}</h3>"
                         f"{_table(m.summary())}")
    for n in notes:
        parts.append(f"<p class='note'>{html.escape(n)}</p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
             "color:#222}table.t{border-collapse:collapse;margin:1em 0}"
             "table.t td,table.t th{padding:3px 10px;border-bottom:1px solid #ddd;"
             "text-align:right}.note{color:#a60}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
            + "\n".join(parts) + "</body></html>")


def value_report(ws: Workspace, *, as_of: str | dt.date | dt.datetime,
                 holdout_weeks: int = 26, horizon_months: int = 12,
                 annual_discount_rate: float = 0.10) -> str:
    """The whole report of a workspace as an HTML string (parts that fail are noted)."""
    from churnguard.value.contractual import contractual_inputs, fit_cohorts, retention_curves
    from churnguard.value.pipeline import clv_frame, fit_value_models

    orders = ws.warehouse.table("orders")
    notes: list[str] = []
    holdout = models = clv = curves = fits = None
    try:
        holdout = holdout_check(orders, as_of=as_of, holdout_weeks=holdout_weeks)
    except ChurnguardError as exc:
        notes.append(f"Holdout check skipped: {exc}")
    try:
        models = fit_value_models(orders, as_of=as_of)
        clv = clv_frame(models, horizon_months=horizon_months,
                        annual_discount_rate=annual_discount_rate)
    except ChurnguardError as exc:
        notes.append(f"Purchase models skipped: {exc}")
    try:
        periods = contractual_inputs(ws, as_of=as_of)
        fits = fit_cohorts(periods)
        curves = retention_curves(periods, fits)
    except ChurnguardError as exc:
        notes.append(f"Contractual retention skipped: {exc}")
    if holdout is None and models is None and curves is None:
        raise InputError(f"{ws.root}: nothing to report: " + " ".join(notes))
    cut = to_utc(as_of)
    return build_report(title=f"Customer value - {ws.root.name} as of "
                              f"{cut.date() if cut else as_of}",
                        holdout=holdout, models=models, clv=clv, curves=curves,
                        retention_fits=fits, notes=notes)
