"""``/api/at-risk``: active customers by expected loss = probability x CLV."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query

from churnguard.api.analytics import Analytics, scoped
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
    base = scoped(an.customers(), owner)
    base = base[(base["status"] == "active") & base["risk"].notna()]
    source = "model" if (base["risk_source"] == "model").any() else (
        "value_model" if len(base) else "none")
    if source == "model":
        base = base[base["risk_source"] == "model"]
    for column, value in (("rfm_segment", rfm_segment), ("risk_band", risk_band),
                          ("value_band", value_band), ("owner", owner_filter)):
        if value:
            base = base[base[column].astype("string") == value]
    base = base.sort_values(["expected_loss", "risk"], ascending=False, na_position="last",
                            kind="stable")
    return base, source


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
    frame, source = at_risk_frame(an, who.owner_scope, rfm_segment=segment,
                                  risk_band=risk_band, value_band=value_band,
                                  owner_filter=owner)
    note = {"model": None, "value_model": NOTE_VALUE_MODEL, "none": NOTE_NONE}[source]
    return AtRisksPublic(data=at_risk_items(frame.iloc[offset: offset + limit]),
                         count=len(frame), risk_source=source, note=note)
