"""Alerts: rule hits turned into routed alerts, cases and outbox messages, in one transaction.

One alert per customer x rule per cooldown window: a hit is suppressed while the same rule
alerted the same customer fewer than ``cooldown_days`` before; a hit for a (rule, customer,
as_of) that already has an alert is the same alert (re-running a day creates nothing).
Every alert carries the reasons in words, the value at stake and the suggested playbook,
and is routed (R20):

``route = "owner"`` (default)
    the customer's owner (``unassigned`` when the customer has none);
``route = "best_retention_staff"``
    the assignees with the best save rate in the case history
    (:func:`churnguard.act.cases.best_retention_staff`), the least loaded first; with no case
    history yet, the owner (and the alert says so);
a team of ``[teams]`` (:mod:`churnguard.act.teams`)
    the member of that team with the fewest open cases (a team named
    ``best_retention_staff`` replaces the automatic choice above);
any other value
    that person, as named.

The alert opens a retention case or joins the customer's open one, and its outbox messages
(one per channel in ``notify``) are written in the same transaction (see
:mod:`churnguard.act.outbox`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from churnguard.act.cases import OPEN_STATES, best_retention_staff, open_or_join
from churnguard.act.models import Alert, Case, utcnow
from churnguard.act.outbox import enqueue
from churnguard.act.teams import pick_member
from churnguard.appdb.engine import AppDB

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"
BEST_STAFF = "best_retention_staff"


@dataclass
class AlertResult:
    """What :func:`raise_alerts` did."""

    created: int = 0
    already: int = 0
    cooling_down: int = 0
    cases_opened: int = 0
    cases_joined: int = 0
    messages: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"{self.created} new alerts ({self.already} already raised, "
                f"{self.cooling_down} in cooldown), {self.cases_opened} cases opened, "
                f"{self.cases_joined} joined, {self.messages} messages queued")


class Router:
    """Decides the assignee of each alert; keeps the open-case load of the best staff."""

    def __init__(self, s: Session, teams: Mapping[str, Sequence[str]] | None = None) -> None:
        self.teams = {k: list(v) for k, v in (teams or {}).items()}
        self.best = [] if BEST_STAFF in self.teams else best_retention_staff(s)
        load = dict(s.execute(select(Case.assignee, func.count()).where(
            Case.state.in_(OPEN_STATES)).group_by(Case.assignee)).all())
        self.load = Counter({str(a): int(n) for a, n in load.items() if a is not None})

    def route(self, route: str, owner: str | None) -> tuple[str, str]:
        """``(assignee, route as recorded)``."""
        if route == "owner":
            return owner or UNASSIGNED, "owner"
        if route in self.teams:
            pick = pick_member(self.teams[route], self.load)
            self.load[pick] += 1
            return pick, route
        if route == BEST_STAFF:
            if not self.best:
                return owner or UNASSIGNED, f"{BEST_STAFF} (no case history yet: owner)"
            pick = min(self.best, key=lambda a: (self.load[a], self.best.index(a)))
            self.load[pick] += 1
            return pick, BEST_STAFF
        return route, route


def _recent(s: Session, as_of: date, max_cooldown: int) -> dict[tuple[str, str], date]:
    """Latest alert day per (rule, customer) within the longest cooldown (incl. today)."""
    since = as_of - timedelta(days=max(max_cooldown, 0))
    rows = s.execute(select(Alert.rule, Alert.customer_id, func.max(Alert.as_of))
                     .where(Alert.as_of >= since, Alert.as_of <= as_of)
                     .group_by(Alert.rule, Alert.customer_id)).all()
    return {(r, c): d for r, c, d in rows}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if hasattr(v, "item"):
            v = v.item()
        out[k] = v if isinstance(v, int | float | str | bool | type(None)) else str(v)
    return out


def raise_alerts(db: AppDB, hits: pd.DataFrame, inputs: pd.DataFrame, as_of: date, *,
                 default_notify: list[str] | None = None,
                 teams: Mapping[str, Sequence[str]] | None = None) -> AlertResult:
    """Create the alerts, cases and outbox messages for ``hits`` (from
    :func:`churnguard.act.rules.evaluate_rules`) in one transaction.

    ``inputs`` is the rule input frame (for owner and value at stake); ``default_notify``
    channels are used for rules without ``notify``; ``teams`` are the ``[teams]`` rules
    may route to.
    """
    result = AlertResult()
    if hits.empty:
        return result
    extra = [c for c in ("owner", "value_at_stake", "value_basis") if c in inputs.columns]
    info = inputs.set_index("customer_id")[extra].to_dict("index") if extra else {}
    with db.session() as s:
        recent = _recent(s, as_of, int(hits["cooldown_days"].max()))
        router = Router(s, teams)
        for h in hits.sort_values(["severity", "rule", "customer_id"]).to_dict("records"):
            key = (h["rule"], h["customer_id"])
            last = recent.get(key)
            if last == as_of:
                result.already += 1
                continue
            if last is not None and (as_of - last).days < int(h["cooldown_days"]):
                result.cooling_down += 1
                continue
            ci = info.get(h["customer_id"], {})
            owner = ci.get("owner")
            owner = None if owner is None or pd.isna(owner) else str(owner)
            stake = ci.get("value_at_stake")
            stake = None if stake is None or pd.isna(stake) else float(stake)
            assignee, route = router.route(h["route"], owner)
            alert = Alert(rule=h["rule"], customer_id=h["customer_id"], as_of=as_of,
                          severity=h["severity"], playbook=h["playbook"], route=route,
                          assignee=assignee, owner=owner, reasons=list(h["reasons"]),
                          values=_clean(h["values"]), value_at_stake=stake,
                          value_basis=ci.get("value_basis"), status="open",
                          created_at=utcnow())
            s.add(alert)
            case, created = open_or_join(
                s, h["customer_id"], title=f"{h['rule']}: " + "; ".join(h["reasons"][:2]),
                assignee=assignee, playbook=h["playbook"], value_at_stake=stake, as_of=as_of)
            alert.case = case
            s.flush()
            if created:
                result.cases_opened += 1
            else:
                result.cases_joined += 1
            notify = list(h["notify"]) or list(default_notify or [])
            result.messages += len(enqueue(s, alert, notify))
            recent[key] = as_of
            result.created += 1
            result.by_rule[h["rule"]] = result.by_rule.get(h["rule"], 0) + 1
    log.info("alerts as of %s: %s", as_of, result)
    return result


def list_alerts(s: Session, *, open_only: bool = False, rule: str | None = None,
                assignee: str | None = None, customer_id: str | None = None,
                as_of: date | None = None, limit: int = 100) -> list[Alert]:
    """Alerts, newest first."""
    q = select(Alert).order_by(Alert.as_of.desc(), Alert.id.desc()).limit(limit)
    if open_only:
        q = q.where(Alert.status == "open")
    if rule is not None:
        q = q.where(Alert.rule == rule)
    if assignee is not None:
        q = q.where(Alert.assignee == assignee)
    if customer_id is not None:
        q = q.where(Alert.customer_id == customer_id)
    if as_of is not None:
        q = q.where(Alert.as_of == as_of)
    return list(s.scalars(q))


__all__ = ["BEST_STAFF", "UNASSIGNED", "AlertResult", "Router", "list_alerts", "raise_alerts"]
