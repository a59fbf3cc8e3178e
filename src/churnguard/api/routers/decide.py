"""``/api/reasons`` (why customers leave), ``/api/plan`` (whom to save, with what),
``/api/winback`` (whom to win back) and ``/api/experiments`` (did a campaign work).

Reasons, plan rows and the win-back list are scoped to an owner's own customers; campaign
results are aggregates every role may read. ``/api/experiments/power`` plans the next
campaign (assignees per arm).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from churnguard.api import decide
from churnguard.api.deps import AnalyticsDep, CurrentUser
from churnguard.api.errors import ERROR_RESPONSES, ErrorBody
from churnguard.api.routers._frames import records
from churnguard.errors import ChurnguardError, InputError

router = APIRouter(tags=["decide"], responses=ERROR_RESPONSES)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Cannot be computed from this "
                                             "workspace's data yet (see the message)"}}

Segment = Literal["region", "acquisition_channel", "plan", "contract_type", "industry"]


class ReasonShare(BaseModel):
    reason: str
    sub_reason: str
    n: int
    share: float
    reason_share: float


class ReasonTrendPoint(BaseModel):
    month: str
    reason: str
    n: int
    share: float


class ReasonSegmentShare(BaseModel):
    segment: str
    reason: str
    n: int
    share: float


class ReasonExample(BaseModel):
    sub_reason: str
    reason: str
    language: str | None = None
    confidence: float
    text: str


class ReasonsPublic(BaseModel):
    """Why customers leave: one reason per churner and month."""

    churners: int
    structured: int
    from_text: int
    classifier: str | None
    breakdown: list[ReasonShare]
    trend: list[ReasonTrendPoint]
    by_segment: list[ReasonSegmentShare] | None = None
    scope: str


class ReasonExamplesPublic(BaseModel):
    data: list[ReasonExample]
    count: int


class CampaignPublic(BaseModel):
    campaign_id: str
    name: str | None = None
    goal: str | None = None
    period: str
    n_treated: int
    n_control: int
    treated_retention: float | None = None
    control_retention: float | None = None
    #: retention of the treated minus the control arm, with its 95 % interval
    lift: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    undetermined: int


class CampaignsPublic(BaseModel):
    data: list[CampaignPublic]
    count: int


class LiftRow(BaseModel):
    segment: str
    n_treated: int
    n_control: int
    treated_retention: float
    control_retention: float
    lift: float
    low: float
    high: float
    p_value: float | None = None


class ExperimentPublic(BaseModel):
    campaign_id: str
    name: str | None = None
    goal: str | None = None
    started_at: str | None = None
    undetermined: int
    revenue: dict[str, float | None]
    #: ``segment == "all"`` first, then one row per segment when ``by`` is given
    lift: list[LiftRow]


class PowerPublic(BaseModel):
    baseline: float
    mde: float
    alpha: float
    power: float
    ratio: float
    #: assignees needed per arm; null (with ``message``) when baseline + mde leaves (0, 1)
    #: or mde is 0: no campaign can show that lift
    n_treated: int | None
    n_control: int | None
    total: int | None
    message: str | None = None


def _scope(who: CurrentUser) -> str:
    return f"owner:{who.owner_scope}" if who.owner_scope else "all"


@router.get("/api/reasons", response_model=ReasonsPublic)
def reasons(an: AnalyticsDep, who: CurrentUser, by: Segment | None = None,
            months: Annotated[int, Query(ge=1, le=120)] = 12) -> ReasonsPublic:
    """Taxonomy breakdown and monthly trend of churn reasons (and shares per segment)."""
    per = decide.churn_reasons(an, who.owner_scope)
    seg = None
    if by is not None:
        seg = [ReasonSegmentShare(segment=str(r[by]), reason=r["reason"], n=r["n"],
                                  share=r["share"])
               for r in records(decide.by_segment(an, who.owner_scope, by))]
    return ReasonsPublic(
        churners=int(per["customer_id"].nunique()) if len(per) else 0,
        structured=int((per["method"] == "structured").sum()) if len(per) else 0,
        from_text=int((per["method"] == "model").sum()) if len(per) else 0,
        classifier=decide.reason_model_id(an),
        breakdown=[ReasonShare.model_validate(r)
                   for r in records(decide.breakdown(an, who.owner_scope))],
        trend=[ReasonTrendPoint.model_validate(r)
               for r in records(decide.trend(an, who.owner_scope, months))],
        by_segment=seg, scope=_scope(who))


@router.get("/api/reasons/examples", response_model=ReasonExamplesPublic)
def reason_examples(an: AnalyticsDep, who: CurrentUser, reason: str | None = None,
                    per_reason: Annotated[int, Query(ge=1, le=50)] = 2
                    ) -> ReasonExamplesPublic:
    """What churners wrote, in their own language (most confident per sub-reason)."""
    df = decide.examples(an, who.owner_scope, per_reason=per_reason, reason=reason)
    data = [ReasonExample.model_validate(r) for r in records(df)]
    return ReasonExamplesPublic(data=data, count=len(data))


@router.get("/api/experiments", response_model=CampaignsPublic)
def experiments(an: AnalyticsDep, who: CurrentUser) -> CampaignsPublic:
    """Every campaign with a control arm or not, oldest first: retention lift with CI."""
    df = decide.campaign_table(an)
    data = [CampaignPublic.model_validate({**r, "campaign_id": str(r["campaign_id"])})
            for r in records(df)]
    return CampaignsPublic(data=data, count=len(data))


@router.get("/api/experiments/power", response_model=PowerPublic)
def power(who: CurrentUser,
          baseline: Annotated[float, Query(gt=0, lt=1, description="control retention")],
          mde: Annotated[float, Query(gt=-1, lt=1, description="lift to detect, e.g. 0.05")],
          alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
          power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
          ratio: Annotated[float, Query(gt=0, le=100, description="control / treated")] = 1.0
          ) -> PowerPublic:
    """Assignees needed per arm to detect ``mde`` (two-sided, pooled normal approximation)."""
    from churnguard.act.experiments import sample_size

    args: dict[str, Any] = {"baseline": baseline, "mde": mde, "alpha": alpha, "power": power,
                            "ratio": ratio}
    try:
        n = sample_size(baseline, mde, alpha=alpha, power=power, ratio=ratio)
    except InputError as exc:  # each value is valid, their combination is not
        return PowerPublic(**args, n_treated=None, n_control=None, total=None,
                           message=str(exc))
    n0 = math.ceil(n * ratio - 1e-9)
    return PowerPublic(**args, n_treated=n, n_control=n0, total=n + n0)


@router.get("/api/experiments/{campaign}", response_model=ExperimentPublic,
            responses=CONFLICT)
def experiment(campaign: str, an: AnalyticsDep, who: CurrentUser, by: Segment | None = None
               ) -> ExperimentPublic:
    """One campaign's retention lift over its control arm, overall and per segment."""
    known = decide.campaign_table(an)
    if known.empty or campaign not in set(known["campaign_id"].astype(str)):
        raise HTTPException(404, f"no campaign {campaign!r}")
    try:
        res = decide.campaign_result(an, campaign, by)
    except ChurnguardError as exc:  # e.g. no control arm, no outcome known yet
        raise HTTPException(409, str(exc)) from exc
    return ExperimentPublic(
        campaign_id=res["campaign_id"], name=res["name"], goal=res["goal"],
        started_at=res["started_at"], undetermined=res["undetermined"],
        revenue=res["revenue"], lift=[LiftRow.model_validate(
            {**r, "segment": str(r["segment"])}) for r in records(res["rows"])])


# -- win-back -----------------------------------------------------------------------------
WinbackAction = Literal["fast_save", "offer", "nurture", "skip"]


class WinbackItem(BaseModel):
    customer_id: str
    name: str | None = None
    owner: str | None = None
    priority: int | None = None
    action: str
    offer: str | None = None
    channel: str | None = None
    contact_every_days: int | None = None
    duration_days: int | None = None
    churned_at: str | None = None
    days_lost: int | None = None
    sltv: float | None = None
    grade: str | None = None
    value_at_stake: float | None = None
    reason: str | None = None
    sub_reason: str | None = None
    reason_source: str | None = None
    competitor: str | None = None
    signal: str | None = None
    #: the plan in one sentence, in the response's ``language``
    why: str | None = None
    #: the sentence's catalogue key and parameters (codes, names and plain numbers), for
    #: clients that render it themselves
    why_key: str | None = None
    why_params: dict[str, Any] | None = None


class WinbackPublic(BaseModel):
    data: list[WinbackItem]
    count: int
    counts: dict[str, int]
    scope: str
    #: the language of ``why``: the ``lang`` parameter, else the user's, else en
    language: str = "en"


@router.get("/api/winback", response_model=WinbackPublic)
def winback(an: AnalyticsDep, who: CurrentUser, action: WinbackAction | None = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0)] = 0,
            lang: Literal["en", "zh", "fa"] | None = None) -> WinbackPublic:
    """Whom to win back, and how: customers cancelling now (fast saves) first, then lost
    customers by plan and SLTV, each with the reason and the plan (owners: their own);
    ``why`` in ``lang`` (default: the user's language)."""
    from churnguard.act.winback import why_in

    language = who.language_for(lang)
    everyone = decide.winback_list(an, who.owner_scope)
    counts = {str(k): int(v) for k, v in everyone["action"].value_counts().items()}
    df = everyone if action is None else everyone[everyone["action"] == action]
    page = df.iloc[offset: offset + limit].copy()
    page["churned_at"] = page["churned_at"].map(
        lambda v: None if v is None or v is pd.NaT or pd.isna(v) else str(v))
    page["why"] = why_in(page, language)
    page["why_params"] = page["why_params"].map(
        lambda v: json.loads(v) if isinstance(v, str) and v else None)
    data = [WinbackItem.model_validate(r) for r in records(page, list(WinbackItem.model_fields))]
    return WinbackPublic(data=data, count=len(df), counts=counts, scope=_scope(who),
                         language=language)


# -- retention plan -----------------------------------------------------------------------
class PlanRow(BaseModel):
    customer_id: str
    name: str | None = None
    owner: str | None = None
    offer: str
    cost: float
    churn_probability: float | None = None
    #: retention gain the offer is expected to bring (P(lost | no offer) - P(lost | offer))
    uplift: float
    value: float | None = None
    value_saved: float
    expected_cost: float
    expected_profit: float
    segment: str | None = None
    runner_up: str | None = None
    why: str | None = None


class PlanOffer(BaseModel):
    offer: str
    cost: float
    eligible: int
    chosen: int
    mean_uplift: float | None = None
    heldout_qini: float | None = None


class PlanPublic(BaseModel):
    """A retention plan: at most one offer per customer, total expected profit maximised,
    committed cost (everyone accepts) within the budget, no negative-profit customer."""

    as_of: str
    budget: float
    committed: float
    expected_cost: float
    value_saved: float
    expected_profit: float
    customers: int
    solver: str
    notes: list[str]
    offers: list[PlanOffer]
    segments: dict[str, int]
    data: list[PlanRow]
    count: int
    scope: str


@router.get("/api/plan", response_model=PlanPublic, responses=CONFLICT)
def retention_plan(an: AnalyticsDep, who: CurrentUser,
                   budget: Annotated[float, Query(ge=0, le=1e12)],
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                   offset: Annotated[int, Query(ge=0)] = 0) -> PlanPublic:
    """Whom to save and with what for ``budget``, from the workspace's ``offers.toml``
    (409 when it has none, or when no offer can be valued from past campaigns)."""
    try:
        res = decide.retention_plan(an, budget, who.owner_scope)
    except ChurnguardError as exc:
        raise HTTPException(409, str(exc)) from exc
    s = res["summary"].iloc[0].to_dict()
    rows = res["rows"]
    return PlanPublic(
        as_of=s["as_of"], budget=s["budget"], committed=s["committed"],
        expected_cost=s["expected_cost"], value_saved=s["value_saved"],
        expected_profit=s["expected_profit"], customers=int(s["customers"]),
        solver=s["solver"], notes=[n for n in str(s["notes"] or "").split("\n") if n],
        offers=[PlanOffer.model_validate(r) for r in records(res["offers"])],
        segments={str(r["segment"]): int(r["customers"]) for r in records(res["segments"])},
        data=[PlanRow.model_validate(r) for r in records(
            rows.iloc[offset: offset + limit], list(PlanRow.model_fields))],
        count=len(rows), scope=_scope(who))
