"""The alert outbox: written with the alerts, delivered with retries, never sent twice.

:func:`enqueue` adds one :class:`OutboxMessage` per alert x channel in the caller's
session, i.e. in the same transaction that creates the alert: an alert exists if and only
if its messages do. :func:`deliver` then works through the due messages, one at a time:

1. *claim* the message with a conditional ``UPDATE`` (``pending`` -> ``sending``, attempt
   count + 1, a lease) and commit, so two senders never send the same message at once;
2. send it with its idempotency key (header and payload);
3. mark it ``sent`` and commit.

A failure reschedules the message with exponential backoff (``base_delay_seconds x 2 **
(attempts - 1)``, capped) until ``max_attempts``, then marks it ``dead``; a permanent
refusal (HTTP 4xx, a robot's error code) is dead at once. A sender killed between 2 and 3
leaves the message ``sending``; once its lease runs out the next sender sends it again
*with the same key*, which the receiver uses to drop the repeat. So delivery is
at-least-once on the wire and exactly-once per key at the receiver; no message is lost.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from churnguard.act.channels import AlertMessage, Channel, DeliveryError
from churnguard.act.models import Alert, OutboxMessage, utcnow
from churnguard.appdb.engine import AppDB
from churnguard.errors import ConfigError

log = logging.getLogger(__name__)


def idempotency_key(rule: str, customer_id: str, as_of: date, channel: str) -> str:
    """A stable key of one alert on one channel.

    >>> idempotency_key("no contact", "C1", date(2026, 3, 1), "ops")
    'cg-48fe66a144e1f440b6cdc15e98dc6a1a'
    """
    raw = f"{rule}\x1f{customer_id}\x1f{as_of.isoformat()}\x1f{channel}".encode()
    return "cg-" + hashlib.sha256(raw).hexdigest()[:32]


def enqueue(session: Session, alert: Alert, channels: list[str]) -> list[OutboxMessage]:
    """Add a pending message per channel for ``alert`` (flushed, not committed)."""
    out = []
    for ch in dict.fromkeys(channels):
        msg = OutboxMessage(alert=alert, channel=ch, status="pending", attempts=0,
                            idempotency_key=idempotency_key(alert.rule, alert.customer_id,
                                                            alert.as_of, ch),
                            next_attempt_at=utcnow(), created_at=utcnow())
        session.add(msg)
        out.append(msg)
    session.flush()
    return out


def alert_message(alert: Alert, key: str, language: str = "en") -> AlertMessage:
    """The words of an alert in ``language`` (en, zh, fa; see :mod:`churnguard.act.words`):
    who, why, value at stake, playbook, routed to whom."""
    from churnguard.act.words import alert_lines, alert_title

    data = {"alert_id": alert.id, "rule": alert.rule, "customer_id": alert.customer_id,
            "as_of": alert.as_of.isoformat(), "severity": alert.severity,
            "reasons": list(alert.reasons), "value_at_stake": alert.value_at_stake,
            "value_basis": alert.value_basis, "playbook": alert.playbook,
            "assignee": alert.assignee, "route": alert.route, "case_id": alert.case_id,
            "language": language}
    if language != "en":
        from churnguard.act.words import alert_reasons

        data["reasons_localized"] = alert_reasons(alert, language)
    return AlertMessage(key=key, title=alert_title(alert, language),
                        lines=alert_lines(alert, language), severity=alert.severity,
                        data=data)


@dataclass
class DeliveryReport:
    """What one :func:`deliver` call did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    pending: int = 0

    def __str__(self) -> str:
        return (f"{self.sent} sent, {self.retried} to retry, {self.dead} failed for good, "
                f"{self.pending} still pending")


def _due(s: Session, now: datetime, limit: int | None) -> list[int]:
    q = select(OutboxMessage.id).where(or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )).order_by(OutboxMessage.id)
    if limit is not None:
        q = q.limit(limit)
    return list(s.scalars(q))


def _next_due(s: Session) -> datetime | None:
    pend = s.scalars(select(OutboxMessage.next_attempt_at).where(
        OutboxMessage.status == "pending").order_by(OutboxMessage.next_attempt_at)).first()
    lease = s.scalars(select(OutboxMessage.lease_until).where(
        OutboxMessage.status == "sending").order_by(OutboxMessage.lease_until)).first()
    cands = [t for t in (pend, lease) if t is not None]
    return min(cands) if cands else None


def _claim(db: AppDB, mid: int, lease_seconds: float) -> bool:
    now = utcnow()
    with db.session() as s:
        res = s.execute(update(OutboxMessage).where(
            OutboxMessage.id == mid,
            or_(OutboxMessage.status == "pending",
                and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)),
        ).values(status="sending", attempts=OutboxMessage.attempts + 1,
                 lease_until=now + timedelta(seconds=lease_seconds)))
        return bool(res.rowcount)  # type: ignore[attr-defined]


def deliver(db: AppDB, channels: Mapping[str, Channel], *, limit: int | None = None,
            max_attempts: int = 6, base_delay_seconds: float = 30.0,
            max_delay_seconds: float = 3600.0, lease_seconds: float = 120.0,
            max_wait_seconds: float = 0.0,
            sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Deliver the due outbox messages (see the module docstring).

    ``max_wait_seconds`` > 0 keeps going (sleeping) while retries fall due within that
    budget; 0 makes one pass and leaves later retries to the next call.
    """
    report = DeliveryReport()
    deadline = time.monotonic() + max_wait_seconds
    while True:
        with db.session() as s:
            ids = _due(s, utcnow(), limit)
        for mid in ids:
            if not _claim(db, mid, lease_seconds):
                continue  # another sender has it
            _send_one(db, mid, channels, report, max_attempts=max_attempts,
                      base_delay_seconds=base_delay_seconds,
                      max_delay_seconds=max_delay_seconds)
        with db.session() as s:
            nxt = _next_due(s)
            report.pending = s.query(OutboxMessage).filter(
                OutboxMessage.status.in_(("pending", "sending"))).count()
        if nxt is None or max_wait_seconds <= 0:
            return report
        wait = (nxt - utcnow()).total_seconds()
        if time.monotonic() + max(wait, 0) > deadline:
            return report
        if wait > 0:
            sleep(wait)


def _send_one(db: AppDB, mid: int, channels: Mapping[str, Channel], report: DeliveryReport,
              *, max_attempts: int, base_delay_seconds: float,
              max_delay_seconds: float) -> None:
    with db.session() as s:
        m = s.get(OutboxMessage, mid)
        assert m is not None
        channel_name, attempts = m.channel, m.attempts
        channel = channels.get(channel_name)
        msg = alert_message(m.alert, m.idempotency_key,
                            channel.config.language if channel is not None else "en")
    error: DeliveryError | None = None
    try:
        if channel is None:
            raise DeliveryError(f"no channel named {channel_name!r} in [[channels]]",
                                permanent=True)
        channel.send(msg)
    except DeliveryError as exc:
        error = exc
    except ConfigError as exc:
        error = DeliveryError(str(exc), permanent=True)
    now = utcnow()
    with db.session() as s:
        m = s.get(OutboxMessage, mid)
        assert m is not None
        m.lease_until = None
        if error is None:
            m.status, m.sent_at, m.last_error = "sent", now, None
            report.sent += 1
            log.info("sent %s to %s", m.idempotency_key, channel_name)
        elif error.permanent or attempts >= max_attempts:
            m.status, m.last_error = "dead", str(error)
            report.dead += 1
            log.warning("giving up on %s to %s after %d attempt(s): %s", m.idempotency_key,
                        channel_name, attempts, error)
        else:
            delay = min(base_delay_seconds * 2 ** (attempts - 1), max_delay_seconds)
            m.status, m.last_error = "pending", str(error)
            m.next_attempt_at = now + timedelta(seconds=delay)
            report.retried += 1
            log.info("retrying %s to %s in %.1f s: %s", m.idempotency_key, channel_name,
                     delay, error)


__all__ = ["DeliveryReport", "alert_message", "deliver", "enqueue", "idempotency_key"]
