"""Retention cases (R13, R19, R20, R23): a state machine, notes, assignees and stats.

States: ``open -> contacted -> saved | lost | not_churning`` (``not_churning``: confirmed
still active, R13); a case may also be closed straight from ``open``. An alert opens a case
or joins the customer's open one; complaints and negative feedback open cases too
(:func:`cases_from_feedback`: collect, classify by category / reason, assign to the owner;
resolve and reply through :func:`transition` and :func:`reply`). The outcome is later
measured from the data (:func:`measure_outcomes`: is the customer still active 90 days
after the case's as_of?). :func:`case_stats` gives save rate and time to first contact per
assignee or playbook.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from churnguard.act.models import CLOSED_STATES, Case, CaseEvent, utcnow
from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.appdb.engine import AppDB
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

#: allowed moves of the state machine
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("contacted", "saved", "lost", "not_churning"),
    "contacted": ("saved", "lost", "not_churning"),
    "saved": (), "lost": (), "not_churning": (),
}
OPEN_STATES = ("open", "contacted")
#: days after as_of at which the outcome is measured
OUTCOME_DAYS = 90


class CaseStateError(InputError):
    """A case cannot move to the requested state."""


def get_case(s: Session, case_id: int) -> Case:
    """The case, or an :class:`InputError` naming how to list them."""
    case = s.get(Case, case_id)
    if case is None:
        raise InputError(f"no case {case_id}; list cases with `churnguard cases <workspace>`")
    return case


def open_case_of(s: Session, customer_id: str) -> Case | None:
    """The customer's open (or contacted) case, if any."""
    return s.scalars(select(Case).where(Case.customer_id == customer_id,
                                        Case.state.in_(OPEN_STATES))
                     .order_by(Case.id.desc())).first()


def open_or_join(s: Session, customer_id: str, *, title: str, source: str = "alert",
                 assignee: str | None = None, playbook: str | None = None,
                 value_at_stake: float | None = None, as_of: date | None = None,
                 source_ref: str | None = None, category: str | None = None
                 ) -> tuple[Case, bool]:
    """Open a case for the customer, or join the open one. Returns ``(case, created)``."""
    case = open_case_of(s, customer_id)
    if case is not None:
        s.add(CaseEvent(case=case, kind=source, text=title, at=utcnow()))
        if value_at_stake is not None and (case.value_at_stake or 0) < value_at_stake:
            case.value_at_stake = value_at_stake
        return case, False
    case = Case(customer_id=customer_id, state="open", source=source, source_ref=source_ref,
                category=category, title=title, assignee=assignee, playbook=playbook,
                value_at_stake=value_at_stake, as_of=as_of, opened_at=utcnow())
    s.add(case)
    s.add(CaseEvent(case=case, kind="opened", text=title, state_to="open", at=utcnow()))
    s.flush()
    return case, True


def transition(s: Session, case: Case, to: str, *, note: str | None = None,
               author: str | None = None, at: datetime | None = None) -> Case:
    """Move ``case`` to state ``to`` (checked against :data:`TRANSITIONS`)."""
    if to not in TRANSITIONS:
        raise CaseStateError(f"unknown state {to!r}; states: {', '.join(TRANSITIONS)}")
    allowed = TRANSITIONS[case.state]
    if to not in allowed:
        raise CaseStateError(
            f"case {case.id} is {case.state}; it can move to "
            f"{', '.join(allowed) if allowed else 'nothing (it is closed)'}, not {to}")
    when = at or utcnow()
    if to == "contacted" or (case.first_contact_at is None and to in CLOSED_STATES
                             and to != "not_churning"):
        case.first_contact_at = case.first_contact_at or when
    if to in CLOSED_STATES:
        case.closed_at = when
        for alert in case.alerts:
            alert.status = "closed"
    s.add(CaseEvent(case=case, kind="state", text=note or "", author=author,
                    state_from=case.state, state_to=to, at=when))
    case.state = to
    s.flush()
    return case


def add_note(s: Session, case: Case, text: str, *, author: str | None = None) -> None:
    """Add a note to the case's history."""
    if not text.strip():
        raise InputError("a note needs some text")
    s.add(CaseEvent(case=case, kind="note", text=text, author=author, at=utcnow()))


def assign(s: Session, case: Case, assignee: str, *, author: str | None = None) -> None:
    """Hand the case to another person or team."""
    s.add(CaseEvent(case=case, kind="assigned", text=f"{case.assignee} -> {assignee}",
                    author=author, at=utcnow()))
    case.assignee = assignee


def reply(s: Session, case: Case, text: str, *, author: str | None = None) -> None:
    """Record the reply sent to the customer (feedback workflow, R23)."""
    case.reply = text
    s.add(CaseEvent(case=case, kind="reply", text=text, author=author, at=utcnow()))


def list_cases(s: Session, *, owner: str | None = None, state: str | None = None,
               open_only: bool = False, customer_id: str | None = None,
               limit: int = 100) -> list[Case]:
    """Cases, newest first, filtered by assignee, state or customer."""
    q = select(Case).order_by(Case.id.desc()).limit(limit)
    if owner is not None:
        q = q.where(Case.assignee == owner)
    if state is not None:
        q = q.where(Case.state == state)
    if open_only:
        q = q.where(Case.state.in_(OPEN_STATES))
    if customer_id is not None:
        q = q.where(Case.customer_id == customer_id)
    return list(s.scalars(q))


def case_stats(s: Session, by: Literal["assignee", "playbook", "source"] = "assignee",
               *, customer_ids: Collection[str] | None = None) -> pd.DataFrame:
    """Per assignee (or playbook): cases, open, saved, lost, not churning, save rate
    (saved / (saved + lost)), median hours to first contact, share that stayed 90 days.
    ``customer_ids`` limits the cases to those customers (an owner's scope)."""
    rows = s.execute(select(getattr(Case, by), Case.state, Case.opened_at,
                            Case.first_contact_at, Case.stayed_90d, Case.customer_id)).all()
    if customer_ids is not None:
        allowed = set(customer_ids)
        rows = [r for r in rows if r[-1] in allowed]
    cols = [by, "state", "opened_at", "first_contact_at", "stayed_90d"]
    df = pd.DataFrame([tuple(r)[:-1] for r in rows], columns=cols)
    if df.empty:
        return pd.DataFrame(columns=[by, "cases", "open", "saved", "lost", "not_churning",
                                     "save_rate", "hours_to_first_contact", "stayed_90d_rate"])
    df[by] = df[by].fillna("(none)")
    df["hours"] = (pd.to_datetime(df["first_contact_at"], utc=True)
                   - pd.to_datetime(df["opened_at"], utc=True)).dt.total_seconds() / 3600
    g = df.groupby(by)
    out = pd.DataFrame({
        "cases": g.size(),
        "open": g["state"].apply(lambda x: int(x.isin(OPEN_STATES).sum())),
        "saved": g["state"].apply(lambda x: int((x == "saved").sum())),
        "lost": g["state"].apply(lambda x: int((x == "lost").sum())),
        "not_churning": g["state"].apply(lambda x: int((x == "not_churning").sum())),
        "hours_to_first_contact": g["hours"].median(),
        "stayed_90d_rate": g["stayed_90d"].apply(
            lambda x: float(x.dropna().astype(bool).mean()) if x.notna().any() else None),
    })
    decided = out["saved"] + out["lost"]
    out["save_rate"] = (out["saved"] / decided).where(decided > 0)
    return out.reset_index()[[by, "cases", "open", "saved", "lost", "not_churning",
                              "save_rate", "hours_to_first_contact", "stayed_90d_rate"]]


def best_retention_staff(s: Session, *, min_decided: int = 3, top: int = 3) -> list[str]:
    """The best savers (R20), best first: assignees with at least ``min_decided``
    saved-or-lost cases whose smoothed save rate ((saved + 1) / (decided + 2)) is at least
    the team's, at most ``top`` of them."""
    st = case_stats(s)
    if st.empty:
        return []
    st = st[st["assignee"] != "(none)"]
    team = (st["saved"].sum() + 1) / (st["saved"].sum() + st["lost"].sum() + 2)
    st = st[st["saved"] + st["lost"] >= min_decided]
    score = (st["saved"] + 1) / (st["saved"] + st["lost"] + 2)
    st = st.assign(score=score)
    st = st[st["score"] >= team]
    return st.sort_values(["score", "saved"], ascending=False)["assignee"].head(top).tolist()


def measure_outcomes(ws: Workspace, db: AppDB, as_of: datetime) -> int:
    """Record ``stayed_90d`` for cases whose as_of is at least 90 days before ``as_of``:
    is the customer active (not churned by the workspace's definition) 90 days later?"""
    from churnguard.act.inputs import active_customers

    limit = as_of.date() - timedelta(days=OUTCOME_DAYS)
    with db.session() as s:
        todo = list(s.scalars(select(Case).where(Case.stayed_90d.is_(None),
                                                 Case.as_of.is_not(None),
                                                 Case.as_of <= limit)))
        days = sorted({c.as_of for c in todo if c.as_of is not None})
        for day in days:
            at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(OUTCOME_DAYS)
            ids = [c.customer_id for c in todo if c.as_of == day]
            pop = active_customers(ws, at)
            alive = set(pop.filter(pop.customer_id.isin(ids)).to_pandas()["customer_id"])
            for c in todo:
                if c.as_of == day:
                    c.stayed_90d = c.customer_id in alive
                    c.outcome_measured_at = utcnow()
        return len(todo)


#: what a complaint / feedback case's stored title shows when it has no category
UNCATEGORISED = "uncategorised"
UNCLASSIFIED = "unclassified"


def complaint_title(category: str | None) -> str:
    """The stored (English) title of a case opened by a complaint: ``complaint (billing)``.
    :func:`churnguard.act.words.case_title` reads it back to show it in other languages."""
    return f"complaint ({category or UNCATEGORISED})"


def feedback_title(kind: str, reason: str | None) -> str:
    """The stored (English) title of a case opened by negative feedback of source ``kind``
    (nps, csat, exit_survey, cancel_prompt): ``nps feedback (price)``."""
    return f"{kind} feedback ({reason or UNCLASSIFIED})"


def cases_from_feedback(ws: Workspace, db: AppDB, as_of: datetime, *,
                        since_days: int = 7) -> int:
    """Open cases for complaints and negative feedback of the ``since_days`` before
    ``as_of`` (NPS <= 6, CSAT <= 2, any exit survey or cancellation prompt), classified by
    ticket category / feedback reason and assigned to the customer's owner. Idempotent:
    one case per ticket / feedback row."""
    wh = ws.warehouse
    names = set(wh.ibis.list_tables())
    start = as_of - timedelta(days=since_days)
    items: list[tuple[str, str, str, str | None, str]] = []
    if "tickets" in names:
        t = wh.table("tickets")
        t = t.filter(t.is_complaint, t.opened_at >= start, t.opened_at < as_of)
        for r in t.select("ticket_id", "customer_id", "category").to_pyarrow().to_pylist():
            items.append(("complaint", str(r["ticket_id"]), str(r["customer_id"]),
                          r["category"], complaint_title(r["category"])))
    if "feedback" in names:
        f = wh.table("feedback")
        neg = (((f.source == "nps") & (f.score <= 6)) | ((f.source == "csat") & (f.score <= 2))
               | f.source.isin(["exit_survey", "cancel_prompt"]))
        f = f.filter(neg, f.at >= start, f.at < as_of)
        for r in f.select("feedback_id", "customer_id", "source", "reason").to_pyarrow(
                ).to_pylist():
            items.append(("feedback", str(r["feedback_id"]), str(r["customer_id"]),
                          r["reason"], feedback_title(r["source"], r["reason"])))
    if not items:
        return 0
    cust = wh.table("customers")
    owners = {r["customer_id"]: r["owner"]
              for r in cust.select("customer_id", "owner").to_pyarrow().to_pylist()}
    opened = 0
    with db.session() as s:
        seen = {(src, ref) for src, ref in s.execute(
            select(Case.source, Case.source_ref).where(Case.source.in_(("complaint",
                                                                        "feedback"))))}
        for source, ref, cid, category, title in items:
            if (source, ref) in seen:
                continue
            existing = open_case_of(s, cid)
            if existing is not None:  # joins the open case, once per ticket / feedback
                text = f"{title} [{source} {ref}]"
                if s.scalars(select(CaseEvent.id).where(CaseEvent.case_id == existing.id,
                                                        CaseEvent.text == text)).first() is None:
                    s.add(CaseEvent(case=existing, kind=source, text=text, at=utcnow()))
                continue
            open_or_join(s, cid, title=title, source=source, source_ref=ref,
                         category=category, assignee=owners.get(cid), as_of=as_of.date())
            seen.add((source, ref))
            opened += 1
    return opened


__all__ = ["OPEN_STATES", "TRANSITIONS", "UNCATEGORISED", "UNCLASSIFIED", "CaseStateError",
           "add_note", "assign", "best_retention_staff", "case_stats", "cases_from_feedback",
           "complaint_title", "feedback_title", "get_case", "list_cases", "measure_outcomes",
           "open_case_of", "open_or_join", "reply", "transition"]
