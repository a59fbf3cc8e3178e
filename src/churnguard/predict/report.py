"""The backtest report: one self-contained HTML file (charts embedded as PNG data, no
network), with the metrics table, AUC and top-decile lift per origin and model, the
calibration table and the global feature importance."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd

from churnguard.predict.backtest import Backtest


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "<img alt='chart' src='data:image/png;base64," + base64.b64encode(
        buf.getvalue()).decode("ascii") + "'>"


def _metric_chart(table: pd.DataFrame, metric: str, title: str) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    for model, g in table.groupby("model", sort=False):
        ax.plot(g["origin"].astype(str), g[metric], marker="o", label=str(model))
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(fontsize=7, loc="best")
    return _png(fig)


def _calibration_chart(cal: pd.DataFrame) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4))
    ax = fig.add_subplot()
    hi = float(max(cal["mean_predicted"].max(), cal["observed_rate"].max(), 0.01))
    ax.plot([0, hi], [0, hi], color="grey", linestyle="--", linewidth=1)
    ax.plot(cal["mean_predicted"], cal["observed_rate"], marker="o")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration (LightGBM, all origins)")
    return _png(fig)


def _importance_chart(imp: pd.DataFrame, top: int = 15) -> str:
    from matplotlib.figure import Figure

    d = imp.head(top).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(d) + 1))
    ax = fig.add_subplot()
    ax.barh(d["feature"], d["share"])
    ax.set_title("Global importance (share of total gain)")
    return _png(fig)


def write_report(bt: Backtest, path: str | Path, *, title: str = "Churn model backtest",
                 notes: list[str] | None = None) -> None:
    """Write the backtest as one self-contained HTML file."""
    t = bt.table
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{html.escape(bt.kind)}; models: {html.escape(', '.join(bt.models()))}</p>"]
    for note in (notes or []) + bt.notes:
        parts.append(f"<p><em>{html.escape(note)}</em></p>")
    if not t.empty:
        mean = t.groupby("model", sort=False)[["auc", "pr_auc", "log_loss", "brier",
                                               "lift_top_decile", "capture_top_decile"]].mean()
        parts += ["<h2>Mean over origins</h2>",
                  mean.to_html(float_format=lambda v: f"{v:.3f}", na_rep="")]
        parts.append(_metric_chart(t, "auc", "AUC per origin"))
        parts.append(_metric_chart(t, "lift_top_decile", "Top-decile lift per origin"))
        parts += ["<h2>Every origin</h2>",
                  t.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")]
    if not bt.calibration.empty:
        parts += ["<h2>Calibration</h2>", _calibration_chart(bt.calibration),
                  bt.calibration.to_html(index=False, float_format=lambda v: f"{v:.3f}")]
    if not bt.importance.empty:
        parts += ["<h2>Global importance</h2>", _importance_chart(bt.importance),
                  bt.importance.head(30).to_html(index=False,
                                                 float_format=lambda v: f"{v:.3f}")]
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
             "table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:2px 6px}")
    Path(path).write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>",
        encoding="utf-8")
