"""``/api/metrics``: churn and retention per period (owners: of their own customers)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from churnguard.api.deps import AnalyticsDep, CurrentUser
from churnguard.api.errors import ERROR_RESPONSES
from churnguard.api.routers._frames import records
from churnguard.api.schemas import ChurnPeriodPublic, ChurnPeriodsPublic

router = APIRouter(prefix="/api/metrics", tags=["metrics"], responses=ERROR_RESPONSES)

Period = Literal["day", "week", "month", "quarter", "year"]
COLUMNS = ["period_start", "period_end", "customers_start", "new", "churned", "customers_end",
           "churn_rate", "retention_rate", "complete", "gross_mrr_churn_rate",
           "net_revenue_retention"]


@router.get("/churn", response_model=ChurnPeriodsPublic)
def churn(an: AnalyticsDep, who: CurrentUser, period: Period = "month") -> ChurnPeriodsPublic:
    """Customers at the start, new, churned, churn and retention rate per period; MRR churn
    and net revenue retention when the workspace has subscriptions."""
    frame = an.rates(period, who.owner_scope)
    data = []
    for r in records(frame, COLUMNS):
        r["period_start"], r["period_end"] = str(r["period_start"]), str(r["period_end"])
        r["mrr_churn_rate"] = r.pop("gross_mrr_churn_rate", None)
        data.append(ChurnPeriodPublic.model_validate(r))
    scope = f"owner:{who.owner_scope}" if who.owner_scope else "all"
    return ChurnPeriodsPublic(data=data, count=len(data), period=period, scope=scope)
