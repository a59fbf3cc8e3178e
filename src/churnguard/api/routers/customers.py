"""``/api/customers``: the customer list (filters, pagination) and the 360 view.

Owners see only their customers: another owner's customer is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

import pandas as pd
from fastapi import APIRouter, HTTPException, Query

from churnguard.api.analytics import Analytics, scoped
from churnguard.api.deps import AnalyticsDep, CurrentUser
from churnguard.api.errors import ERROR_RESPONSES
from churnguard.api.routers._frames import clean, reasons_of, records
from churnguard.api.schemas import (
    Customer360Public,
    CustomerPublic,
    CustomersPublic,
    ScorePoint,
    TimelineItem,
)

router = APIRouter(prefix="/api/customers", tags=["customers"], responses=ERROR_RESPONSES)

NO_SCORES = ("no churn model has scored these customers yet: churn_probability is null "
             "(run `churnguard train` and `churnguard score`)")
SORTS = ("customer_id", "name", "churn_probability", "clv", "expected_loss")


def filter_customers(frame: pd.DataFrame, *, q: str | None = None, **equals: str | None
                     ) -> pd.DataFrame:
    """Rows matching a search text (id or name) and exact column values."""
    out = frame
    if q:
        text = q.strip().lower()
        hit = (out["customer_id"].str.lower().str.contains(text, regex=False)
               | out["name"].fillna("").str.lower().str.contains(text, regex=False))
        out = out[hit]
    for column, value in equals.items():
        if value is not None and column in out.columns:
            out = out[out[column].astype("string") == value]
    return out


def customer_or_404(an: Analytics, customer_id: str, owner: str | None) -> dict[str, object]:
    row = an.customer(customer_id, owner)
    if row is None:
        raise HTTPException(404, f"no customer {customer_id!r}")
    return {k: clean(v) for k, v in row.items()}


@router.get("", response_model=CustomersPublic)
def list_customers(
    an: AnalyticsDep,
    who: CurrentUser,
    q: Annotated[str | None, Query(max_length=100, description="Search id or name")] = None,
    owner: str | None = None,
    region: str | None = None,
    plan: str | None = None,
    status: Literal["active", "churned"] | None = None,
    risk_band: str | None = None,
    value_band: str | None = None,
    rfm_segment: str | None = None,
    sort: Literal["customer_id", "name", "churn_probability", "clv", "expected_loss"] = (
        "customer_id"),
    descending: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CustomersPublic:
    """Customers with their owner, churn probability and CLV; filter, sort and page."""
    base = scoped(an.customers(), who.owner_scope)
    rows = filter_customers(base, q=q, owner=owner, region=region, plan=plan, status=status,
                            risk_band=risk_band, value_band=value_band,
                            rfm_segment=rfm_segment)
    rows = rows.sort_values(sort, ascending=not descending, na_position="last", kind="stable")
    page = rows.iloc[offset: offset + limit]
    data = [CustomerPublic.model_validate(r) for r in records(page)]
    has = an.has_scores
    return CustomersPublic(data=data, count=len(rows), scores_available=has,
                           note=None if has else NO_SCORES)


@router.get("/{customer_id}", response_model=Customer360Public)
def get_customer(customer_id: str, an: AnalyticsDep, who: CurrentUser) -> Customer360Public:
    """The 360 view: profile, value, churn probability history, reasons and timeline."""
    row = customer_or_404(an, customer_id, who.owner_scope)
    profile = cast("dict[str, object]", row.pop("profile", None) or {})
    prof = {k: clean(v) for k, v in profile.items()}
    points = [ScorePoint(as_of=clean(p["as_of"]), churn_probability=float(
        p["churn_probability"]), risk_band=clean(p["risk_band"]))
        for p in an.score_points(customer_id)]
    timeline = [TimelineItem(**r) for r in an.timeline_items(customer_id)]
    has = an.has_scores
    return Customer360Public(
        customer=CustomerPublic.model_validate(row), profile=prof,
        p_alive=row.get("p_alive"), reasons=reasons_of(row),  # type: ignore[arg-type]
        last_contact_at=row.get("last_contact_at"),  # type: ignore[arg-type]
        score_history=points, timeline=timeline, scores_available=has,
        note=None if has else NO_SCORES)
