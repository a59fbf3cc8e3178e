"""The retention plan as one self-contained HTML file (charts embedded as PNG, no network):
the money, segments, offers with their held-out Qini curves, the chosen customers, and,
for a simulated workspace, the plan's true profit against the oracle and the baselines."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from churnguard.act.uplift import OfferModels, qini_by_offer, qini_coefficient
from churnguard.predict.report import _png

if TYPE_CHECKING:
    from churnguard.act.target import TargetPlan


def _qini_chart(curves: dict[str, pd.DataFrame]) -> str:
    from matplotlib.figure import Figure

    n = len(curves)
    fig = Figure(figsize=(3.6 * n, 3.2))
    for i, (name, q) in enumerate(curves.items(), start=1):
        ax = fig.add_subplot(1, n, i)
        ax.plot(q["fraction"], q["qini"], label="model")
        ax.plot(q["fraction"], q["random"], color="grey", linestyle="--", label="random")
        ax.set_title(f"{name}\nQini coefficient {qini_coefficient(q):+.3f}", fontsize=9)
        ax.set_xlabel("share of assignees targeted")
        if i == 1:
            ax.set_ylabel("incremental customers retained")
            ax.legend(fontsize=7)
    return _png(fig)


def offers_table(result: TargetPlan) -> pd.DataFrame:
    """Per offer: cost, acceptance, campaign assignees learned from, held-out Qini, and
    how many customers the plan gives it."""
    m = result.models
    curves = qini_by_offer(m.heldout) if m.heldout is not None else {}
    chosen = result.frame["offer"].value_counts()
    rows = []
    for o in result.offers:
        q = curves.get(o.campaign_offer)
        rows.append({
            "offer": o.name, "campaign_offer": o.campaign_offer, "cost": o.cost,
            "acceptance_rate": result.candidates.loc[result.candidates["offer"] == o.name,
                                                     "acceptance_rate"].max(),
            "assignees_learned_from": m.examples.get(o.campaign_offer, 0),
            "heldout_qini": qini_coefficient(q) if q is not None else float("nan"),
            "eligible": int((result.candidates["offer"] == o.name).sum()),
            "mean_uplift": result.candidates.loc[result.candidates["offer"] == o.name,
                                                 "uplift"].mean(),
            "chosen": int(chosen.get(o.name, 0)),
        })
    return pd.DataFrame(rows)


def _method(models: OfferModels) -> str:
    """How the plan's uplift was estimated, in words (the methods of the fitted models)."""
    names = {"risk": "each customer's churn probability x the offer's relative effect in "
                     "its campaigns",
             "t": "T-learner on LightGBM", "x": "X-learner on LightGBM"}
    used = sorted({str(getattr(mod, "method", "")) for mod in models.models.values()})
    return "; ".join(names.get(u, u) for u in used) or "no model"


def write_report(result: TargetPlan, path: str | Path, *,
                 evaluation: dict[str, float] | None = None, top: int = 100) -> None:
    """Write the plan report to ``path``."""
    m = result.models
    curves = qini_by_offer(m.heldout) if m.heldout is not None else {}
    curves = {k: v for k, v in curves.items() if k in {o.campaign_offer for o in result.offers}}
    summary = pd.DataFrame([
        ("as of", f"{result.as_of:%Y-%m-%d}"),
        ("budget (committed cost: everyone chosen accepts)", f"{result.budget:,.2f}"),
        ("committed cost of the plan", f"{result.spent:,.2f}"),
        ("expected cost", f"{result.frame['expected_cost'].sum():,.2f}"),
        ("expected value saved", f"{result.frame['value_saved'].sum():,.2f}"),
        ("expected profit", f"{result.expected_profit:,.2f}"),
        ("customers chosen", f"{len(result.frame):,}"),
        ("solver", result.solver),
    ], columns=["", "value"])
    segs = result.customers["segment"].value_counts().rename_axis("segment").reset_index(
        name="customers")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Retention plan</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:right}th{background:#f3f3f3}</style></head><body>",
        "<h1>Retention plan</h1>",
        f"<p>Uplift per offer from past campaigns with control groups ({_method(m)}); "
        "expected profit = uplift x 12-month value - acceptance x cost; at most "
        "one offer per customer, the total maximised within the budget.</p>",
        summary.to_html(index=False),
    ]
    if result.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
                     + "</ul>")
    if evaluation:
        ev = pd.DataFrame([(k, f"{v:,.3f}") for k, v in evaluation.items()],
                          columns=["against the simulator's ground truth", "value"])
        parts += ["<h2>True incremental profit (simulated workspace)</h2>",
                  ev.to_html(index=False)]
    parts += ["<h2>Segments</h2>", segs.to_html(index=False),
              "<h2>Offers</h2>", offers_table(result).to_html(index=False,
                                                              float_format="{:,.3f}".format)]
    if curves:
        parts += ["<h2>Qini curves (held-out past-campaign assignments)</h2>",
                  "<p>Assignees ranked by cross-fitted uplift (models that did not see "
                  "them); the curve above the random line means the ranking finds the "
                  "customers the offer retains.</p>", _qini_chart(curves)]
    parts += [f"<h2>Chosen customers (top {min(top, len(result.frame))} by expected "
              "profit)</h2>",
              result.frame.head(top).to_html(index=False, float_format="{:,.3f}".format,
                                            na_rep=""),
              "</body></html>"]
    Path(path).write_text("\n".join(parts), encoding="utf-8")


__all__ = ["offers_table", "write_report"]
