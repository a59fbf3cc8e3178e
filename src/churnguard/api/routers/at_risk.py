"""``/api/at-risk``: active customers by expected loss = probability x CLV."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query

from churnguard.api.analytics import Analytics
from churnguard.api.deps import AnalyticsDep, CurrentUser
from churnguard.api.errors import ERROR_RESPONSES
from churnguard.api.routers._frames import reasons_of, records
from churnguard.api.schemas import AtRiskPublic, AtRisksPublic

router = APIRouter(prefix="/api/at-risk", tags=["at-risk"], responses=ERROR_RESPONSES)

NOTE_VALUE_MODEL = ("no churn model scores yet (run `churnguard train` and `churnguard "
                    "score`); ranked by the value model's P(no purchase in 12 months)")
NOTE_NONE = "no churn scores and no order history: nothing to rank yet"


def at_risk_frame(an: Analytics, owner: str | None, *, rfm_segment: str | None = None,
                  risk_band: str | None = None, value_band: str | None = None,
                  owner_filter: str | None = None) -> tuple[pd.DataFrame, str]:
    """Active customers with a risk, sorted by expected loss (then probability)."""
    return an.at_risk_frame(owner, {"rfm_segment": rfm_segment, "risk_band": risk_band,
                                    "value_band": value_band, "owner": owner_filter})


def at_risk_items(frame: pd.DataFrame) -> list[AtRiskPublic]:
    out = []
    for r in records(frame):
        r["probability"] = r["risk"]
        r["reasons"] = reasons_of(r)
        out.append(AtRiskPublic.model_validate(r))
    return out


@router.get("", response_model=AtRisksPublic)
def at_risk(
    an: AnalyticsDep,
    who: CurrentUser,
    segment: str | None = None,
    risk_band: str | None = None,
    value_band: str | None = None,
    owner: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AtRisksPublic:
    """Today's list: who to call first, with the reasons in words and the last contact."""
    page, count, source = an.at_risk(
        who.owner_scope, {"rfm_segment": segment, "risk_band": risk_band,
                          "value_band": value_band, "owner": owner}, limit=limit, offset=offset)
    note = {"model": None, "value_model": NOTE_VALUE_MODEL, "none": NOTE_NONE}[source]
    return AtRisksPublic(data=at_risk_items(page), count=count, risk_source=source, note=note)
