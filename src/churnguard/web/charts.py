"""Plotly figures of the dashboard and the report, as HTML fragments (no JavaScript inside;
the page loads ``plotly.min.js`` once, or the report embeds it once)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from churnguard.i18n.ui import format_date, t

CONFIG = {"displayModeBar": False, "responsive": True}


def _html(fig: go.Figure, language: str) -> str:
    fig.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=340,
                      template="plotly_white", font={"family": "sans-serif"},
                      legend={"orientation": "h"})
    if language == "fa":
        fig.update_layout(xaxis={"autorange": "reversed"} if fig.layout.xaxis.type == "category"
                          else {})
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG))


def trend(rates: pd.DataFrame, language: str) -> str:
    """Churn and retention rate per period (complete periods)."""
    df = rates[rates["complete"].astype(bool)] if "complete" in rates else rates
    x = [format_date(d, language) for d in df["period_start"]]
    fig = go.Figure()
    fig.add_scatter(x=x, y=df["churn_rate"], name=t("overview.churn_rate", language),
                    mode="lines+markers")
    fig.add_scatter(x=x, y=df["retention_rate"], name=t("overview.retention_rate", language),
                    mode="lines", yaxis="y2")
    fig.update_layout(title=t("overview.trend", language), yaxis={"tickformat": ".1%"},
                      yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%"})
    return _html(fig, language)


def revenue(rates: pd.DataFrame, language: str) -> str:
    df = rates[rates["complete"].astype(bool)]
    x = [format_date(d, language) for d in df["period_start"]]
    fig = go.Figure()
    fig.add_scatter(x=x, y=df["gross_mrr_churn_rate"], name=t("overview.mrr_churn", language))
    fig.add_scatter(x=x, y=df["net_revenue_retention"], name=t("overview.nrr", language),
                    yaxis="y2")
    fig.update_layout(title=t("overview.revenue", language), yaxis={"tickformat": ".1%"},
                      yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%"})
    return _html(fig, language)


def cohort_heatmap(cohorts: pd.DataFrame, language: str) -> str:
    m = cohorts.pivot(index="cohort", columns="months_since_signup", values="retention")
    fig = go.Figure(go.Heatmap(z=m.values, x=list(m.columns),
                               y=[format_date(c, language) for c in m.index],
                               colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="%{y} +%{x}: %{z:.1%}<extra></extra>"))
    fig.update_layout(title=t("cohorts.heatmap", language),
                      xaxis_title=t("cohorts.months", language), height=520)
    html = _html(fig, language)
    return html


def survival(curve: pd.DataFrame, language: str) -> str:
    fig = go.Figure()
    for seg, g in curve.groupby("segment"):
        fig.add_scatter(x=g["days"], y=g["survival"], name=str(seg),
                        line={"shape": "hv"})
    fig.update_layout(title=t("cohorts.survival", language),
                      xaxis_title=t("cohorts.days", language), yaxis={"range": [0, 1.02]})
    return _html(fig, language)


def bars(labels: list[str], values: list[float], title: str, language: str, *,
         percent: bool = False) -> str:
    fig = go.Figure(go.Bar(x=labels, y=values))
    fig.update_layout(title=title, yaxis={"tickformat": ".0%"} if percent else {})
    return _html(fig, language)


def history(points: pd.DataFrame, language: str) -> str:
    fig = go.Figure(go.Scatter(x=[format_date(d, language) for d in points["as_of"]],
                               y=points["churn_probability"], mode="lines+markers"))
    fig.update_layout(title=t("customer.history", language), yaxis={"range": [0, 1]},
                      height=260)
    return _html(fig, language)
