"""``/api/alerts`` and ``/api/cases``: what fired, and the retention cases worked to an outcome.

The same owner scoping as ``/api/customers``: a user with the owner role sees and works
only the alerts and cases of customers whose owner (``customers.owner`` in the warehouse,
as of now) is theirs; another owner's case is a 404 on every route, as if it did not
exist. Case changes go through the state machine of :mod:`churnguard.act.cases` (the
same checks as ``churnguard case``), are written to the case history with the user as
author, and to the audit log. The dashboard pages (:mod:`churnguard.web.routes_act`)
use the query functions of this module, so pages and API show the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from churnguard.act import cases as C
from churnguard.act.models import CLOSED_STATES, Alert, Case
from churnguard.act.words import alert_reasons, playbook_label
from churnguard.api.accounts import Principal, audit
from churnguard.api.analytics import Analytics, scoped
from churnguard.api.deps import AnalyticsDep, CurrentUser, SessionDep
from churnguard.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api", tags=["alerts and cases"], responses=ERROR_RESPONSES)

Language = Literal["en", "zh", "fa"]
State = Literal["open", "contacted", "saved", "lost", "not_churning"]
Outcome = Literal["saved", "lost", "not_churning"]
Severity = Literal["low", "medium", "high"]
StatsBy = Literal["assignee", "playbook", "source"]


# -- response and request models ------------------------------------------------------
class AlertPublic(BaseModel):
    id: int
    rule: str
    customer_id: str
    #: the customer's owner now (from the warehouse)
    owner: str | None = None
    as_of: dt.date
    severity: str
    playbook: str | None = None
    playbook_label: str | None = None
    #: how it was routed: owner, best_retention_staff (computed or a team), a team or person
    route: str
    assignee: str | None = None
    #: the reasons in words, in the requested language
    reasons: list[str]
    #: the values the rule read
    values: dict[str, Any]
    value_at_stake: float | None = None
    value_basis: str | None = None
    status: str
    case_id: int | None = None
    created_at: dt.datetime
    messages: int = 0
    messages_sent: int = 0


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int


class CasePublic(BaseModel):
    id: int
    customer_id: str
    owner: str | None = None
    state: str
    source: str
    category: str | None = None
    title: str
    assignee: str | None = None
    playbook: str | None = None
    value_at_stake: float | None = None
    opened_at: dt.datetime
    as_of: dt.date | None = None
    first_contact_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    #: did the customer stay 90 days after as_of (measured from the data; null = not yet)
    stayed_90d: bool | None = None
    reply: str | None = None


class CasesPublic(BaseModel):
    data: list[CasePublic]
    count: int


class CaseEventPublic(BaseModel):
    at: dt.datetime
    kind: str
    text: str
    author: str | None = None
    state_from: str | None = None
    state_to: str | None = None


class CaseDetailPublic(BaseModel):
    case: CasePublic
    #: the states the case may move to next
    next_states: list[str]
    events: list[CaseEventPublic]
    alerts: list[AlertPublic]


class CaseStatPublic(BaseModel):
    key: str
    cases: int
    open: int
    saved: int
    lost: int
    not_churning: int
    #: saved / (saved + lost); null before any case is decided
    save_rate: float | None = None
    #: median hours from opening to first contact
    hours_to_first_contact: float | None = None
    stayed_90d_rate: float | None = None


class CaseStatsPublic(BaseModel):
    by: str
    data: list[CaseStatPublic]


class ContactBody(BaseModel):
    note: str | None = Field(default=None, max_length=5000)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class OutcomeBody(BaseModel):
    outcome: Outcome
    note: str | None = Field(default=None, max_length=5000)


# -- scoping and queries (shared with the dashboard) ----------------------------------
def scope_ids(an: Analytics, who: Principal) -> set[str] | None:
    """The customer ids ``who`` may see; None = every customer."""
    if who.owner_scope is None:
        return None
    return set(scoped(an.customers(), who.owner_scope)["customer_id"].astype(str))


def owner_ids(an: Analytics, owner: str) -> set[str]:
    """The ids of the customers whose owner is ``owner``."""
    frame = an.customers()
    return set(frame.loc[frame["owner"] == owner, "customer_id"].astype(str))


def owners_of(an: Analytics, customer_ids: Sequence[str]) -> dict[str, str | None]:
    """The current owner of each customer id."""
    frame = an.customers()
    rows = frame.loc[frame["customer_id"].isin(list(customer_ids)), ["customer_id", "owner"]]
    return {str(c): (None if pd.isna(o) else str(o)) for c, o in rows.itertuples(index=False)}


def _allowed(an: Analytics, who: Principal, owner: str | None) -> set[str] | None:
    ids = scope_ids(an, who)
    if owner is not None:
        wanted = owner_ids(an, owner)
        ids = wanted if ids is None else ids & wanted
    return ids


def query_alerts(s: Session, an: Analytics, who: Principal, *, open_only: bool = False,
                 rule: str | None = None, severity: str | None = None,
                 owner: str | None = None, assignee: str | None = None,
                 customer_id: str | None = None, as_of: dt.date | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[list[Alert], int]:
    """A page of the alerts ``who`` may see (newest first) and how many match."""
    q = select(Alert.id, Alert.customer_id).order_by(Alert.as_of.desc(), Alert.id.desc())
    if open_only:
        q = q.where(Alert.status == "open")
    for column, value in ((Alert.rule, rule), (Alert.severity, severity),
                          (Alert.assignee, assignee), (Alert.customer_id, customer_id),
                          (Alert.as_of, as_of)):
        if value is not None:
            q = q.where(column == value)
    ids = _allowed(an, who, owner)
    rows = [i for i, c in s.execute(q).all() if ids is None or c in ids]
    page = rows[offset: offset + limit]
    if not page:
        return [], len(rows)
    found = {a.id: a for a in s.scalars(select(Alert).where(Alert.id.in_(page))
                                        .options(selectinload(Alert.messages)))}
    return [found[i] for i in page], len(rows)


def query_cases(s: Session, an: Analytics, who: Principal, *, state: str | None = None,
                open_only: bool = False, owner: str | None = None,
                assignee: str | None = None, playbook: str | None = None,
                source: str | None = None, customer_id: str | None = None,
                limit: int = 100, offset: int = 0) -> tuple[list[Case], int]:
    """A page of the cases ``who`` may see (newest first) and how many match."""
    q = select(Case.id, Case.customer_id).order_by(Case.id.desc())
    if open_only:
        q = q.where(Case.state.in_(C.OPEN_STATES))
    for column, value in ((Case.state, state), (Case.assignee, assignee),
                          (Case.playbook, playbook), (Case.source, source),
                          (Case.customer_id, customer_id)):
        if value is not None:
            q = q.where(column == value)
    ids = _allowed(an, who, owner)
    rows = [i for i, c in s.execute(q).all() if ids is None or c in ids]
    page = rows[offset: offset + limit]
    if not page:
        return [], len(rows)
    found = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(page)))}
    return [found[i] for i in page], len(rows)


def case_or_404(s: Session, an: Analytics, who: Principal, case_id: int) -> Case:
    """The case, or a 404 when it does not exist or is not ``who``'s to see."""
    case = s.get(Case, case_id)
    if (case is not None and who.owner_scope is not None
            and owners_of(an, [case.customer_id]).get(case.customer_id) != who.owner_scope):
        case = None
    if case is None:
        raise HTTPException(404, f"no case {case_id}")
    return case


def scoped_stats(s: Session, an: Analytics, who: Principal, by: StatsBy) -> pd.DataFrame:
    """Case statistics by ``by`` over the cases ``who`` may see."""
    return C.case_stats(s, by=by, customer_ids=scope_ids(an, who))


def rules_by_name(request: Request) -> dict[str, Any]:
    """The workspace's rules by name (for reasons in words in other languages); empty
    when the rules do not load (the stored English reasons are shown then)."""
    extra = request.app.state.cg.extra
    if "act_rules" not in extra:
        from churnguard.act.rules import load_rules
        from churnguard.errors import ChurnguardError

        try:
            loaded = load_rules(request.app.state.cg.warehouse.config.rules)
            extra["act_rules"] = {r.name: r for r in loaded}
        except ChurnguardError:
            extra["act_rules"] = {}
    rules: dict[str, Any] = extra["act_rules"]
    return rules


def alert_public(a: Alert, owner: str | None, lang: str,
                 rules: dict[str, Any] | None = None) -> AlertPublic:
    return AlertPublic(
        id=a.id, rule=a.rule, customer_id=a.customer_id, owner=owner, as_of=a.as_of,
        severity=a.severity, playbook=a.playbook,
        playbook_label=playbook_label(a.playbook, lang) or None, route=a.route,
        assignee=a.assignee, reasons=alert_reasons(a, lang, rules), values=dict(a.values),
        value_at_stake=a.value_at_stake, value_basis=a.value_basis, status=a.status,
        case_id=a.case_id, created_at=a.created_at, messages=len(a.messages),
        messages_sent=sum(m.status == "sent" for m in a.messages))


def case_public(c: Case, owner: str | None) -> CasePublic:
    return CasePublic(
        id=c.id, customer_id=c.customer_id, owner=owner, state=c.state, source=c.source,
        category=c.category, title=c.title, assignee=c.assignee, playbook=c.playbook,
        value_at_stake=c.value_at_stake, opened_at=c.opened_at, as_of=c.as_of,
        first_contact_at=c.first_contact_at, closed_at=c.closed_at, stayed_90d=c.stayed_90d,
        reply=c.reply)


def case_detail(c: Case, an: Analytics, lang: str, rules: dict[str, Any] | None = None
                ) -> CaseDetailPublic:
    owner = owners_of(an, [c.customer_id]).get(c.customer_id)
    return CaseDetailPublic(
        case=case_public(c, owner), next_states=list(C.TRANSITIONS[c.state]),
        events=[CaseEventPublic(at=e.at, kind=e.kind, text=e.text, author=e.author,
                                state_from=e.state_from, state_to=e.state_to)
                for e in c.events],
        alerts=[alert_public(a, owner, lang, rules) for a in c.alerts])


def stats_public(frame: pd.DataFrame, by: str) -> CaseStatsPublic:
    def num(v: Any) -> float | None:
        return None if v is None or pd.isna(v) else float(v)

    data = [CaseStatPublic(key=str(r[by]), cases=int(r["cases"]), open=int(r["open"]),
                           saved=int(r["saved"]), lost=int(r["lost"]),
                           not_churning=int(r["not_churning"]), save_rate=num(r["save_rate"]),
                           hours_to_first_contact=num(r["hours_to_first_contact"]),
                           stayed_90d_rate=num(r["stayed_90d_rate"]))
            for r in frame.to_dict("records")]
    return CaseStatsPublic(by=by, data=data)


# -- changes (shared with the dashboard) -----------------------------------------------
def contact(s: Session, who: Principal, case: Case, note: str | None,
            client: str = "") -> Case:
    """Mark the case contacted (with an optional note); audited."""
    try:
        C.transition(s, case, "contacted", note=note or None, author=who.username)
    except C.CaseStateError as exc:
        raise HTTPException(409, str(exc)) from None
    audit(s, who, "case.contact", str(case.id), f"customer={case.customer_id}", client)
    return case


def add_note(s: Session, who: Principal, case: Case, text: str, client: str = "") -> Case:
    """Add a note to the case's history; audited."""
    C.add_note(s, case, text, author=who.username)
    s.flush()
    audit(s, who, "case.note", str(case.id), f"customer={case.customer_id}", client)
    return case


def set_outcome(s: Session, who: Principal, case: Case, outcome: str, note: str | None,
                client: str = "") -> Case:
    """Close the case as saved, lost or not churning; audited."""
    if outcome not in CLOSED_STATES:
        raise HTTPException(422, f"outcome {outcome!r}: use saved, lost or not_churning")
    try:
        C.transition(s, case, outcome, note=note or None, author=who.username)
    except C.CaseStateError as exc:
        raise HTTPException(409, str(exc)) from None
    audit(s, who, "case.outcome", str(case.id),
          f"customer={case.customer_id} outcome={outcome}", client)
    return case


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


# -- routes ---------------------------------------------------------------------------
Limit = Annotated[int, Query(ge=1, le=1000)]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Case number")]
Offset = Annotated[int, Query(ge=0)]


@router.get("/alerts", response_model=AlertsPublic)
def list_alerts(
    request: Request, s: SessionDep, an: AnalyticsDep, who: CurrentUser,
    open: Annotated[bool, Query(description="Only open alerts")] = False,
    rule: str | None = None,
    severity: Severity | None = None,
    owner: Annotated[str | None, Query(description="The customer's owner")] = None,
    assignee: Annotated[str | None, Query(description="Routed to this person")] = None,
    customer_id: str | None = None,
    as_of: dt.date | None = None,
    lang: Annotated[Language | None, Query(
        description="Language of the reasons (default: the user's)")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AlertsPublic:
    """Alerts, newest first: what fired, for whom, why (in words), value at stake,
    playbook and routed to whom."""
    rows, count = query_alerts(s, an, who, open_only=open, rule=rule, severity=severity,
                               owner=owner, assignee=assignee, customer_id=customer_id,
                               as_of=as_of, limit=limit, offset=offset)
    owners = owners_of(an, [a.customer_id for a in rows])
    language = who.language_for(lang)
    rules = rules_by_name(request) if language != "en" else None
    return AlertsPublic(data=[alert_public(a, owners.get(a.customer_id), language, rules)
                              for a in rows], count=count)


@router.get("/cases", response_model=CasesPublic)
def list_cases(
    s: SessionDep, an: AnalyticsDep, who: CurrentUser,
    state: State | None = None,
    open: Annotated[bool, Query(description="Only open or contacted cases")] = False,
    owner: Annotated[str | None, Query(description="The customer's owner")] = None,
    assignee: str | None = None,
    playbook: str | None = None,
    source: Literal["alert", "complaint", "feedback", "manual"] | None = None,
    customer_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CasesPublic:
    """Retention cases, newest first, filtered by state, owner, assignee or playbook."""
    rows, count = query_cases(s, an, who, state=state, open_only=open, owner=owner,
                              assignee=assignee, playbook=playbook, source=source,
                              customer_id=customer_id, limit=limit, offset=offset)
    owners = owners_of(an, [c.customer_id for c in rows])
    return CasesPublic(data=[case_public(c, owners.get(c.customer_id)) for c in rows],
                       count=count)


@router.get("/cases/stats", response_model=CaseStatsPublic)
def case_stats(s: SessionDep, an: AnalyticsDep, who: CurrentUser,
               by: StatsBy = "assignee") -> CaseStatsPublic:
    """Per assignee (or playbook, or source): cases, open, saved, lost, not churning,
    save rate = saved / (saved + lost), median hours to first contact, share that stayed
    90 days."""
    return stats_public(scoped_stats(s, an, who, by), by)


@router.get("/cases/{case_id}", response_model=CaseDetailPublic)
def get_case(case_id: CaseId, request: Request, s: SessionDep, an: AnalyticsDep,
             who: CurrentUser, lang: Language | None = None) -> CaseDetailPublic:
    """One case with its history and alerts (reasons in ``lang``, default the user's)."""
    case = case_or_404(s, an, who, case_id)
    language = who.language_for(lang)
    return case_detail(case, an, language, rules_by_name(request) if language != "en" else None)


@router.post("/cases/{case_id}/contact", response_model=CaseDetailPublic)
def contact_case(case_id: CaseId, body: ContactBody, request: Request, s: SessionDep,
                 an: AnalyticsDep, who: CurrentUser) -> CaseDetailPublic:
    """Mark the case as contacted (open -> contacted), with an optional note."""
    case = contact(s, who, case_or_404(s, an, who, case_id), body.note, _client(request))
    return case_detail(case, an, who.language_for(None))


@router.post("/cases/{case_id}/note", response_model=CaseDetailPublic)
def note_case(case_id: CaseId, body: NoteBody, request: Request, s: SessionDep,
              an: AnalyticsDep, who: CurrentUser) -> CaseDetailPublic:
    """Add a note to the case's history."""
    case = add_note(s, who, case_or_404(s, an, who, case_id), body.text, _client(request))
    return case_detail(case, an, who.language_for(None))


@router.post("/cases/{case_id}/outcome", response_model=CaseDetailPublic)
def outcome_case(case_id: CaseId, body: OutcomeBody, request: Request, s: SessionDep,
                 an: AnalyticsDep, who: CurrentUser) -> CaseDetailPublic:
    """Close the case: saved, lost or not_churning (confirmed still active)."""
    case = set_outcome(s, who, case_or_404(s, an, who, case_id), body.outcome, body.note,
                       _client(request))
    return case_detail(case, an, who.language_for(None))


__all__ = ["add_note", "case_or_404", "contact", "query_alerts", "query_cases", "router",
           "scope_ids", "set_outcome"]
