"""What each dashboard page shows: plain dicts for the templates, from :class:`Analytics`.

Every function takes the user's owner scope (None: every customer) and applies it before
anything is shown, exported or searched.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from churnguard.api.analytics import SEGMENT_DIMENSIONS, Analytics, scoped
from churnguard.web import charts

PERIODS = ("week", "month", "quarter", "year")
SURVIVAL_BY = ("plan", "contract_type", "region", "acquisition_channel", "industry")


def overview(an: Analytics, owner: str | None, period: str, lang: str) -> dict[str, Any]:
    rates = an.rates(period, owner)
    done = rates[rates["complete"].astype(bool)] if len(rates) else rates
    last = done.iloc[-1].to_dict() if len(done) else None
    prev = done.iloc[-2].to_dict() if len(done) > 1 else None
    risky = an.at_risk_summary(owner)
    has_revenue = "net_revenue_retention" in rates.columns and rates[
        "net_revenue_retention"].notna().any()
    return {
        "period": period, "periods": PERIODS, "last": last, "prev": prev,
        "trend": charts.trend(rates, lang) if len(rates) else "",
        "revenue": charts.revenue(rates, lang) if has_revenue else "",
        "has_revenue": has_revenue,
        "at_risk_count": risky["high"], "value_at_stake": risky["value_at_stake"],
        "risk_source": risky["source"],
    }


def _columns(filters: dict[str, str | None]) -> dict[str, str | None]:
    """The page's filter names as customer-frame columns."""
    return {"rfm_segment": filters.get("segment"), "risk_band": filters.get("risk_band"),
            "value_band": filters.get("value_band"), "owner": filters.get("owner")}


def at_risk(an: Analytics, owner: str | None, filters: dict[str, str | None], *,
            limit: int = 200) -> dict[str, Any]:
    """The at-risk page: the first ``limit`` rows (with the reason sentences of every
    language, ``reason_i_<lang>``, for the template to pick), the count and the filter
    choices."""
    page, count, source = an.at_risk(owner, _columns(filters), limit=limit)

    def choices() -> dict[str, list[str]]:
        base = scoped(an.customers(), owner)
        return {"segment": sorted(base["rfm_segment"].dropna().astype(str).unique()),
                "owner": sorted(base["owner"].dropna().astype(str).unique())}

    options = {**an.cache.memo(an.version, f"at_risk_choices:{owner}", choices),
               "risk_band": ["high", "medium", "low"], "value_band": ["high", "medium", "low"]}
    return {"rows": page.to_dict("records"), "count": count,
            "source": source, "filters": filters, "options": options}


EXPORT_COLUMNS = ["customer_id", "name", "owner", "risk", "risk_band", "clv", "expected_loss",
                  "reason_1", "reason_2", "reason_3", "last_contact_at", "rfm_segment",
                  "value_band"]


def at_risk_csv(an: Analytics, owner: str | None, filters: dict[str, str | None]) -> str:
    frame, _ = an.at_risk_frame(owner, _columns(filters))
    out = frame[EXPORT_COLUMNS].rename(columns={"risk": "churn_probability"})
    return str(out.to_csv(index=False))


def customer(an: Analytics, owner: str | None, customer_id: str, lang: str
             ) -> dict[str, Any] | None:
    """The customer page: the row, the profile, the score history chart, the reasons in
    ``lang`` (sentences with the customer's numbers) and the timeline."""
    from churnguard.i18n.ui import reason_texts

    row = an.customer(customer_id, owner)
    if row is None:
        return None
    row = dict(row)
    profile = row.pop("profile", None) or {}
    row.pop("history", None)
    hist = an.score_history(customer_id)
    return {
        "c": row,
        "profile": {k: v for k, v in profile.items()
                    if k != "attributes" and v is not None
                    and not (isinstance(v, float) and v != v)},
        "history": charts.history(hist, lang) if len(hist) else "",
        "reasons": reason_texts(row, lang),
        "timeline": an.timeline(customer_id).to_dict("records"),
        "has_scores": len(hist) > 0,
    }


def cohorts(an: Analytics, owner: str | None, by: str | None, lang: str) -> dict[str, Any]:
    coh = an.cohorts()
    if owner is not None:
        curve = an.survival("owner")
        curve = curve[curve["segment"] == owner]
    else:
        curve = an.survival(by if by in SURVIVAL_BY else None)
    return {"heatmap": charts.cohort_heatmap(coh, lang) if len(coh) else "",
            "survival": charts.survival(curve, lang) if len(curve) else "",
            "by": by, "choices": SURVIVAL_BY}


def segments(an: Analytics, owner: str | None, dimension: str, lang: str) -> dict[str, Any]:
    from churnguard.i18n.ui import t

    base = scoped(an.customers(), owner)
    sizes = base["rfm_segment"].dropna().value_counts()
    dim = dimension if dimension in SEGMENT_DIMENSIONS else "region"
    g = base.groupby(base[dim].fillna("(missing)").astype(str))
    by = pd.DataFrame({"customers": g.size(),
                       "churned": g["status"].apply(lambda s: int((s == "churned").sum()))})
    by["share"] = by["churned"] / by["customers"]
    by = by.reset_index().rename(columns={dim: "value"}).sort_values("share", ascending=False)
    # segment moves are company-wide counts: shown to analysts and admins only
    migrations = an.segment_migrations() if owner is None else pd.DataFrame()
    return {
        "sizes": charts.bars(list(sizes.index), [int(v) for v in sizes.values],
                             t("segments.rfm_sizes", lang), lang) if len(sizes) else "",
        "churn_by": charts.bars(list(by["value"]), list(by["share"]),
                                t("segments.churn_by", lang, dimension=t(f"dim.{dim}", lang)),
                                lang, percent=True),
        "by_rows": by.to_dict("records"), "dimension": dim, "dimensions": SEGMENT_DIMENSIONS,
        "migrations": migrations[migrations["from_segment"] != migrations["to_segment"]]
        .sort_values("customers", ascending=False).head(15).to_dict("records")
        if len(migrations) else [],
    }


def lost(an: Analytics, owner: str | None, *, limit: int = 200) -> dict[str, Any]:
    df = an.lost()
    base = scoped(an.customers(), owner)[["customer_id", "name", "owner"]]
    df = df.merge(base, on="customer_id", how="inner")
    df = df.sort_values("sltv", ascending=False)
    return {"rows": df.head(limit).to_dict("records"), "count": len(df)}


def model(an: Analytics) -> dict[str, Any]:
    """The active model's card, or None when no model was trained."""
    try:
        from churnguard.predict.registry import ModelRegistry
    except ImportError:
        return {"model": None}
    try:
        reg = ModelRegistry(an.ws.root / "models")
        version = reg.active()
        if version is None:
            return {"model": None}
        rows = [s for s in reg.summaries() if str(s.get("version")) == version]
    except Exception:  # the registry is being built by a colleague; never break the page
        return {"model": None}
    meta = rows[0] if rows else {"version": version}
    metrics = {k: v for k, v in meta.items() if isinstance(v, int | float)}
    importance = meta.get("importance") if isinstance(meta.get("importance"), dict) else {}
    return {"model": meta, "metrics": metrics, "importance": importance}
