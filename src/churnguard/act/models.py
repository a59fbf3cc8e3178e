"""App-state models of the act layer: alerts, their outbox, retention cases and case events.

Created by migration ``0002_act``. Timestamps are stored as UTC and read back aware
(:class:`UTCDateTime`), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from churnguard.appdb.base import Base


def utcnow() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned aware UTC, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: churnguard stores aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: states of a retention case and the states each may move to
CASE_STATES = ("open", "contacted", "saved", "lost", "not_churning")
CLOSED_STATES = ("saved", "lost", "not_churning")


class Case(Base):
    """A retention (or feedback / complaint) case of one customer."""

    __tablename__ = "act_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    #: alert, complaint, feedback or manual
    source: Mapped[str] = mapped_column(String(20), default="alert")
    #: id of the ticket / feedback row that opened it (dedupe key with ``source``)
    source_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    playbook: Mapped[str | None] = mapped_column(String(100), nullable=True)
    value_at_stake: Mapped[float | None] = mapped_column(Float, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the data date the case was opened for (outcomes are measured from it)
    as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: did the customer stay 90 days after as_of (measured from the data; None = not yet)
    stayed_90d: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    outcome_measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan")
    alerts: Mapped[list[Alert]] = relationship(back_populates="case", order_by="Alert.id")

    __table_args__ = (UniqueConstraint("source", "source_ref"),)


class CaseEvent(Base):
    """Something that happened to a case: opened, alert, contacted, note, state, assigned."""

    __tablename__ = "act_case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("act_cases.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    state_to: Mapped[str | None] = mapped_column(String(20), nullable=True)

    case: Mapped[Case] = relationship(back_populates="events")


class Alert(Base):
    """One rule firing for one customer; unique per (rule, customer, as_of day)."""

    __tablename__ = "act_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    playbook: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: how it was routed: owner, best_retention_staff, or the team named by the rule
    route: Mapped[str] = mapped_column(String(200), default="owner")
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    value_at_stake: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_basis: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("act_cases.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case | None] = relationship(back_populates="alerts")
    messages: Mapped[list[OutboxMessage]] = relationship(back_populates="alert")

    __table_args__ = (UniqueConstraint("rule", "customer_id", "as_of"),)


class OutboxMessage(Base):
    """An alert to deliver to one channel; written in the transaction that creates the alert."""

    __tablename__ = "act_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("act_alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(200))
    #: sent with every attempt (header and payload) so the receiver can drop repeats
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    #: pending, sending (claimed, lease until lease_until), sent, dead
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    alert: Mapped[Alert] = relationship(back_populates="messages")


__all__ = ["CASE_STATES", "CLOSED_STATES", "Alert", "Case", "CaseEvent", "OutboxMessage",
           "UTCDateTime", "utcnow"]
