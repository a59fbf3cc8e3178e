"""Dashboard pages of the decide area: why customers leave, and did our campaigns work.

``/reasons``: taxonomy breakdown, reason shares by month, shares by a chosen segment and
examples in the customers' own words (owners: their own customers only).
``/plan``: the uplift-aware retention plan for a budget typed in the form (built on the
server from ``<workspace>/offers.toml``, a loading state while it learns), per-offer
numbers, held-out Qini curves, the chosen customers and a CSV export.
``/winback``: customers cancelling now (fast saves) and lost customers with the plan the
``[winback]`` policy gives them (offer, nurture or skip) and why, in the page's language,
filterable and exported as CSV (``why`` in the language of the page that links to it).
``/experiments``: every campaign's retention lift with its 95 % interval, one campaign's
lift per segment, and a sample-size calculator (an HTMX form) for planning the next one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from churnguard.api import decide
from churnguard.api.accounts import audit
from churnguard.api.deps import AnalyticsDep, SessionDep
from churnguard.contract.reasons import MAIN_REASONS
from churnguard.errors import ChurnguardError, InputError
from churnguard.i18n.ui import t
from churnguard.web.charts import _html
from churnguard.web.routes import PageUser, add_nav, language_of, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _reason_label(code: str, lang: str) -> str:
    return t(f"taxonomy.{code}", lang)


def _reason_charts(breakdown: pd.DataFrame, trend: pd.DataFrame, lang: str) -> dict[str, str]:
    main = breakdown.drop_duplicates("reason")[["reason", "reason_share"]]
    bar = go.Figure(go.Bar(x=[_reason_label(r, lang) for r in main["reason"]],
                           y=main["reason_share"]))
    bar.update_layout(title=t("reasons.breakdown", lang), yaxis={"tickformat": ".0%"})
    line = go.Figure()
    for code in [c for c in (*MAIN_REASONS, "unknown") if c in set(trend["reason"])]:
        g = trend[trend["reason"] == code]
        line.add_scatter(x=list(g["month"]), y=g["share"], name=_reason_label(code, lang),
                         mode="lines+markers", stackgroup="one")
    line.update_layout(title=t("reasons.trend", lang), yaxis={"tickformat": ".0%"},
                       xaxis={"type": "category", "categoryorder": "category ascending"})
    return {"bar": _html(bar, lang), "trend": _html(line, lang) if len(trend) else ""}


@router.get("/reasons", response_class=HTMLResponse)
def reasons(request: Request, who: PageUser, an: AnalyticsDep, by: str = "contract_type"
            ) -> HTMLResponse:
    lang = language_of(request, who)
    by = by if by in decide.REASON_SEGMENTS else "contract_type"
    per = decide.churn_reasons(an, who.owner_scope)
    ctx: dict[str, Any] = {"by": by, "segments": decide.REASON_SEGMENTS,
                           "classifier": decide.reason_model_id(an), "count": len(per)}
    if len(per):
        breakdown = decide.breakdown(an, who.owner_scope)
        ctx.update(_reason_charts(breakdown, decide.trend(an, who.owner_scope), lang))
        ctx["breakdown"] = breakdown.to_dict("records")
        ctx["structured"] = int((per["method"] == "structured").sum())
        ctx["from_text"] = int((per["method"] == "model").sum())
        seg = decide.by_segment(an, who.owner_scope, by)
        wide = seg.pivot_table(index=by, columns="reason", values="share", fill_value=0.0)
        n = seg.groupby(by)["n"].sum()
        ctx["seg_reasons"] = [c for c in (*MAIN_REASONS, "unknown") if c in wide.columns]
        ctx["seg_rows"] = [{"value": k, "n": int(n[k]),
                            "shares": [float(wide.loc[k, c]) for c in ctx["seg_reasons"]]}
                           for k in wide.index]
        ctx["examples"] = decide.examples(an, who.owner_scope).to_dict("records")
    return render(request, "reasons.html", who, **ctx)


def _lift_chart(df: pd.DataFrame, lang: str) -> str:
    d = df[df["lift"].notna()]
    if d.empty:
        return ""
    fig = go.Figure(go.Scatter(
        x=[f"{r.campaign_id} {r.period}" for r in d.itertuples()], y=d["lift"],
        mode="markers", marker={"size": 10},
        error_y={"type": "data", "symmetric": False, "array": d["high"] - d["lift"],
                 "arrayminus": d["lift"] - d["low"]}))
    fig.add_hline(y=0, line_dash="dot")
    fig.update_layout(title=t("experiments.lift_chart", lang), yaxis={"tickformat": "+.0%"},
                      xaxis={"type": "category"})
    return _html(fig, lang)


@router.get("/experiments", response_class=HTMLResponse)
def experiments(request: Request, who: PageUser, an: AnalyticsDep) -> HTMLResponse:
    lang = language_of(request, who)
    df = decide.campaign_table(an)
    rows = df.to_dict("records") if len(df) else []
    return render(request, "experiments.html", who, rows=rows,
                  chart=_lift_chart(df, lang) if len(df) else "", power=None)


@router.get("/experiments/power", response_class=HTMLResponse)
def power(request: Request, who: PageUser, baseline: str = "", mde: str = "",
          power: str = "0.8", alpha: str = "0.05") -> HTMLResponse:
    """The sample-size calculator's answer (an HTMX fragment, or the whole page)."""
    from churnguard.act.experiments import sample_size

    result: dict[str, Any] = {"baseline": baseline, "mde": mde, "power": power,
                              "alpha": alpha}
    try:
        values = {k: _fraction(v, k) for k, v in (("baseline", baseline), ("mde", mde),
                                                  ("power", power), ("alpha", alpha))}
        result["n"] = sample_size(values["baseline"], values["mde"], alpha=values["alpha"],
                                  power=values["power"])
    except InputError as exc:
        result["error"] = str(exc)
    name = "experiments_power.html" if request.headers.get("hx-request") else "experiments.html"
    ctx: dict[str, Any] = {"power": result}
    if name == "experiments.html":
        ctx.update(rows=[], chart="")
    resp = render(request, name, who, **ctx)
    if "error" in result:
        resp.status_code = 422 if name == "experiments.html" else 200
    return resp


def _fraction(text: str, name: str) -> float:
    """``0.05``, ``5`` or ``5%`` as 0.05 (retention and lifts are written either way)."""
    raw = text.strip().rstrip("%").strip()
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a number") from None
    return value / 100 if abs(value) >= 1 or text.strip().endswith("%") else value


@router.get("/experiments/{campaign}", response_class=HTMLResponse)
def experiment(campaign: str, request: Request, who: PageUser, an: AnalyticsDep,
               by: str = "contract_type") -> HTMLResponse:
    by = by if by in decide.REASON_SEGMENTS else "contract_type"
    known = decide.campaign_table(an)
    if known.empty or campaign not in set(known["campaign_id"].astype(str)):
        resp = render(request, "not_found.html", who)
        resp.status_code = 404
        return resp
    try:
        res = decide.campaign_result(an, campaign, by)
    except ChurnguardError as exc:
        return render(request, "experiment.html", who, error=str(exc), campaign_id=campaign,
                      by=by, segments=decide.REASON_SEGMENTS)
    rows = res.pop("rows").to_dict("records")
    return render(request, "experiment.html", who, res=res, rows=rows, by=by,
                  campaign_id=campaign, segments=decide.REASON_SEGMENTS, error=None)


PLAN_SHOWN = 300
PLAN_EXPORT = ["customer_id", "name", "owner", "offer", "cost", "churn_probability", "uplift",
               "value", "value_saved", "expected_cost", "expected_profit", "segment",
               "runner_up", "runner_up_profit", "eligible_offers", "why"]


def _budget(text: str) -> float | None:
    """The budget typed in the form (None: not given); a bad one is an InputError."""
    raw = text.replace(",", "").replace("٬", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"budget: {text!r} is not a number") from None
    if not 0 <= value < 1e12:
        raise InputError(f"budget: {text!r} must be between 0 and 10^12")
    return value


def _qini_chart(qini: pd.DataFrame, lang: str) -> str:
    if qini.empty:
        return ""
    fig = go.Figure()
    for name, g in qini.groupby("offer", sort=True):
        fig.add_scatter(x=g["fraction"], y=g["qini"], name=str(name), mode="lines")
    first = qini[qini["offer"] == qini["offer"].iloc[0]]
    fig.add_scatter(x=first["fraction"], y=first["random"], name=t("plan.random", lang),
                    mode="lines", line={"dash": "dot", "color": "grey"})
    fig.update_layout(title=t("plan.qini", lang), xaxis={"tickformat": ".0%"},
                      xaxis_title=t("plan.qini_x", lang), yaxis_title=t("plan.qini_y", lang))
    return _html(fig, lang)


@router.get("/plan", response_class=HTMLResponse)
def retention_plan(request: Request, who: PageUser, an: AnalyticsDep, budget: str = ""
                   ) -> HTMLResponse:
    """The plan form; with a budget, the plan itself (an HTMX fragment or the whole page)."""
    lang = language_of(request, who)
    ctx: dict[str, Any] = {"budget": budget, "has_offers": decide.offers_path(an).is_file(),
                           "offers_path": str(decide.offers_path(an)), "plan": None,
                           "error": None}
    status = 200
    try:
        value = _budget(budget)
        if value is not None:
            res = decide.retention_plan(an, value, who.owner_scope)
            summary = res["summary"].iloc[0].to_dict()
            summary["notes"] = [n for n in str(summary["notes"] or "").split("\n") if n]
            ctx["plan"] = {"summary": summary, "offers": res["offers"].to_dict("records"),
                           "segments": res["segments"].to_dict("records"),
                           "rows": res["rows"].head(PLAN_SHOWN).to_dict("records"),
                           "count": len(res["rows"]), "qini": _qini_chart(res["qini"], lang)}
    except ChurnguardError as exc:
        ctx["error"], status = str(exc), 422
    fragment = bool(request.headers.get("hx-request"))
    resp = render(request, "plan_result.html" if fragment else "plan.html", who, **ctx)
    resp.status_code = 200 if fragment else status  # HTMX swaps 2xx answers only
    return resp


@router.get("/plan.csv")
def retention_plan_csv(request: Request, who: PageUser, an: AnalyticsDep, s: SessionDep,
                       budget: str) -> Response:
    value = _budget(budget)
    if value is None:
        raise InputError("budget: give the budget the plan is for")
    rows = decide.retention_plan(an, value, who.owner_scope)["rows"]
    audit(s, who, "export.plan", "", f"budget={value}")
    return Response(rows.reindex(columns=PLAN_EXPORT).to_csv(index=False),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="plan.csv"'})


WINBACK_SHOWN = 300
WINBACK_EXPORT = ["priority", "customer_id", "name", "owner", "action", "offer", "channel",
                  "contact_every_days", "duration_days", "churned_at", "days_lost", "sltv",
                  "grade", "value_at_stake", "reason", "sub_reason", "reason_source",
                  "competitor", "signal", "why"]


@router.get("/winback", response_class=HTMLResponse)
def winback(request: Request, who: PageUser, an: AnalyticsDep, action: str = ""
            ) -> HTMLResponse:
    from churnguard.act.winback import why_in

    lang = language_of(request, who)
    everyone = decide.winback_list(an, who.owner_scope)
    action = action if action in decide.WINBACK_ACTIONS else ""
    rows = everyone[everyone["action"] == action] if action else everyone
    counts = everyone["action"].value_counts()
    shown = rows.head(WINBACK_SHOWN).copy()
    shown["why"] = why_in(shown, lang)  # only the rows shown are rendered
    return render(request, "winback.html", who, action=action,
                  actions=decide.WINBACK_ACTIONS, count=len(rows),
                  counts={a: int(counts.get(a, 0)) for a in decide.WINBACK_ACTIONS},
                  rows=shown.to_dict("records"), classifier=decide.reason_model_id(an))


@router.get("/winback.csv")
def winback_csv(request: Request, who: PageUser, an: AnalyticsDep, s: SessionDep,
                action: str = "") -> Response:
    action = action if action in decide.WINBACK_ACTIONS else ""
    lang = language_of(request, who)
    rows = decide.winback_list(an, who.owner_scope, action or None, lang)
    audit(s, who, "export.winback", "", action or "all")
    text = rows.reindex(columns=WINBACK_EXPORT).to_csv(index=False)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="winback.csv"'})


def install(app: FastAPI) -> None:
    """Add the reasons, experiments and win-back pages to the dashboard."""
    app.include_router(router)
    add_nav(app, "/reasons", "nav.reasons")
    add_nav(app, "/plan", "nav.plan")
    add_nav(app, "/winback", "nav.winback")
    add_nav(app, "/experiments", "nav.experiments")
