"""Request and response models: ``XPublic`` for one item, ``XsPublic(data, count)`` for lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["admin", "analyst", "owner"]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class CustomerPublic(BaseModel):
    customer_id: str
    name: str | None = None
    owner: str | None = None
    region: str | None = None
    plan: str | None = None
    status: str = "active"
    #: the churn model's latest probability; null when no model has scored this customer
    churn_probability: float | None = None
    risk_band: str | None = None
    clv: float | None = None
    expected_loss: float | None = None
    rfm_segment: str | None = None
    value_band: str | None = None


class CustomersPublic(BaseModel):
    data: list[CustomerPublic]
    count: int
    scores_available: bool
    note: str | None = None


class ScorePoint(BaseModel):
    as_of: datetime
    churn_probability: float
    risk_band: str | None = None


class TimelineItem(BaseModel):
    at: datetime | None
    kind: str
    summary: str | None = None


class Customer360Public(BaseModel):
    customer: CustomerPublic
    profile: dict[str, Any]
    p_alive: float | None = None
    reasons: list[str] = Field(default_factory=list)
    last_contact_at: datetime | None = None
    score_history: list[ScorePoint]
    timeline: list[TimelineItem]
    scores_available: bool
    note: str | None = None


class ChurnPeriodPublic(BaseModel):
    period_start: str
    period_end: str
    customers_start: int
    new: int
    churned: int
    customers_end: int
    churn_rate: float | None
    retention_rate: float | None
    complete: bool
    mrr_churn_rate: float | None = None
    net_revenue_retention: float | None = None


class ChurnPeriodsPublic(BaseModel):
    data: list[ChurnPeriodPublic]
    count: int
    period: str
    scope: str


class AtRiskPublic(BaseModel):
    customer_id: str
    name: str | None = None
    owner: str | None = None
    probability: float
    risk_band: str | None = None
    clv: float | None = None
    expected_loss: float | None = None
    reasons: list[str] = Field(default_factory=list)
    last_contact_at: datetime | None = None
    rfm_segment: str | None = None
    value_band: str | None = None


class AtRisksPublic(BaseModel):
    data: list[AtRiskPublic]
    count: int
    #: "model" (churn model scores), "value_model" (BG/NBD inactivity risk) or "none"
    risk_source: str
    note: str | None = None


class EventBatchPublic(BaseModel):
    batch_id: str
    table: str
    status: Literal["queued", "applied", "refused"]
    rows: int
    message: str = ""
    inserted: int | None = None
    updated: int | None = None
    unchanged: int | None = None
    rejected: int | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list)


class UserPublic(BaseModel):
    id: int
    username: str
    role: Role
    owner_name: str | None = None
    active: bool = True


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    owner_name: str | None = None


class ApiKeyCreated(BaseModel):
    id: int
    prefix: str
    key: str = Field(description="The key itself: shown once, store it now")
