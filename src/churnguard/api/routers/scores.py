"""``/api/scores/{customer_id}``: one customer's latest churn score, with the reasons in words.

Served from the scores kept by ``churnguard score`` (no model runs per request); owners
see only their own customers (another owner's is a 404, as if it did not exist).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from churnguard.api.deps import AnalyticsDep, CurrentUser
from churnguard.api.errors import ERROR_RESPONSES
from churnguard.api.routers._frames import clean
from churnguard.i18n.ui import reason_texts

router = APIRouter(prefix="/api/scores", tags=["scores"], responses=ERROR_RESPONSES)


class ReasonPublic(BaseModel):
    #: the reason code (``complaints``, ``falling_purchases`` ...)
    code: str
    #: the reason as a sentence in the requested language, with the customer's numbers
    text: str


class ScorePublic(BaseModel):
    customer_id: str
    #: null when no churn model has scored this customer
    churn_probability: float | None = None
    risk_band: str | None = None
    model_version: str | None = None
    scored_as_of: datetime | None = None
    clv: float | None = None
    expected_loss: float | None = None
    reasons: list[ReasonPublic] = Field(default_factory=list)
    language: str
    note: str | None = None


@router.get("/{customer_id}", response_model=ScorePublic)
def get_score(customer_id: str, an: AnalyticsDep, who: CurrentUser,
              lang: Literal["en", "zh", "fa"] | None = None) -> ScorePublic:
    """The latest score of one customer: probability, band, expected loss and reasons."""
    row = an.customer(customer_id, who.owner_scope)
    if row is None:
        raise HTTPException(404, f"no customer {customer_id!r}")
    language = who.language_for(lang)
    prob = clean(row.get("churn_probability"))
    scored = prob is not None
    return ScorePublic(
        customer_id=customer_id, churn_probability=prob,
        risk_band=clean(row.get("risk_band")) if scored else None,
        model_version=clean(row.get("model_version")),
        scored_as_of=clean(row.get("scored_at")), clv=clean(row.get("clv")),
        expected_loss=clean(row.get("expected_loss")) if scored else None,
        reasons=[ReasonPublic(code=c, text=t) for c, t in reason_texts(row, language)],
        language=language,
        note=None if scored else "no churn model has scored this customer yet "
                                 "(run `churnguard train` and `churnguard score`)")
