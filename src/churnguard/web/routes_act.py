"""Dashboard pages of the act layer: Alerts, Cases, one case (contact, note, outcome), and
the alerts and cases block of the customer page.

The pages show what ``/api/alerts`` and ``/api/cases`` return (same queries, same owner
scoping: an owner sees and works only the cases of their customers; another owner's case
is a 404 page). The case forms post with HTMX and the session's CSRF token (the
``X-CSRF-Token`` header set in ``base.html``, or the ``csrf_token`` field without
JavaScript); a refused change (a closed case, an empty note) is shown on the page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from churnguard.act import cases as C
from churnguard.act.models import Alert, Case
from churnguard.act.words import alert_reasons, case_event_text, case_title, playbook_label
from churnguard.api.accounts import Principal
from churnguard.api.analytics import Analytics, scoped
from churnguard.api.deps import AnalyticsDep, SessionDep
from churnguard.api.routers import alerts_cases as A
from churnguard.api.routers.alerts_cases import CaseId
from churnguard.api.security import same
from churnguard.errors import ChurnguardError
from churnguard.web.routes import PageUser, add_nav, language_of, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)

SEVERITIES = ("high", "medium", "low")
PAGE_ROWS = 50


def _opt(request: Request, key: str) -> str | None:
    return request.query_params.get(key) or None


def _offset(request: Request) -> int:
    text = request.query_params.get("offset", "0")
    return max(int(text), 0) if text.isdigit() else 0


def pager(request: Request, offset: int, count: int) -> dict[str, Any]:
    """Links to the previous and next page (the other query parameters kept)."""
    def link(at: int) -> str:
        params = dict(request.query_params)
        params["offset"] = str(at)
        return f"{request.url.path}?{urlencode(params)}"

    return {"first": offset + 1 if count else 0, "last": min(offset + PAGE_ROWS, count),
            "count": count, "prev": link(max(offset - PAGE_ROWS, 0)) if offset > 0 else None,
            "next": link(offset + PAGE_ROWS) if offset + PAGE_ROWS < count else None}


def alert_row(a: Alert, owner: str | None, lang: str, rules: dict[str, Any]) -> dict[str, Any]:
    """An alert as the templates show it (reasons in ``lang``)."""
    return {"id": a.id, "rule": a.rule, "customer_id": a.customer_id, "owner": owner,
            "as_of": a.as_of, "severity": a.severity, "playbook": a.playbook,
            "playbook_label": playbook_label(a.playbook, lang), "route": a.route,
            "assignee": a.assignee, "reasons": alert_reasons(a, lang, rules),
            "value_at_stake": a.value_at_stake, "status": a.status, "case_id": a.case_id}


def case_row(c: Case, owner: str | None, lang: str) -> dict[str, Any]:
    """A case as the templates show it. Its stored subject is English: in another
    language an alert's case ("<rule>: <reasons>") shows the rule's name only (its reasons
    are shown in the language with the alerts), a complaint's or feedback's case its title
    in that language (:func:`churnguard.act.words.case_title`)."""
    if c.source == "alert":
        title = c.title if lang == "en" else c.title.split(": ", 1)[0]
    else:
        title = case_title(c.source, c.category, c.title, lang)
    return {"id": c.id, "customer_id": c.customer_id, "owner": owner, "state": c.state,
            "source": c.source, "title": title, "assignee": c.assignee,
            "playbook": c.playbook, "playbook_label": playbook_label(c.playbook, lang),
            "value_at_stake": c.value_at_stake, "opened_at": c.opened_at,
            "first_contact_at": c.first_contact_at, "closed_at": c.closed_at,
            "stayed_90d": c.stayed_90d}


def _owners_options(an: Analytics, who: Principal) -> list[str]:
    base = scoped(an.customers(), who.owner_scope)
    return sorted(base["owner"].dropna().astype(str).unique())


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, who: PageUser, an: AnalyticsDep, s: SessionDep
                ) -> HTMLResponse:
    lang = language_of(request, who)
    filters: dict[str, Any] = {"open": request.query_params.get("open", "1") != "0",
                               "rule": _opt(request, "rule"), "owner": _opt(request, "owner"),
                               "severity": _opt(request, "severity")}
    if filters["severity"] not in (None, *SEVERITIES):
        filters["severity"] = None
    rows, count = A.query_alerts(s, an, who, open_only=bool(filters["open"]),
                                 rule=filters["rule"], severity=filters["severity"],
                                 owner=filters["owner"], limit=PAGE_ROWS,
                                 offset=_offset(request))
    owners = A.owners_of(an, [a.customer_id for a in rows])
    rules = A.rules_by_name(request)
    data = [alert_row(a, owners.get(a.customer_id), lang, rules) for a in rows]
    rule_names = sorted({r for (r,) in s.query(Alert.rule).distinct()})
    return render(request, "alerts.html", who, rows=data, count=count, filters=filters,
                  pages=pager(request, _offset(request), count),
                  options={"rule": rule_names, "owner": _owners_options(an, who),
                           "severity": list(SEVERITIES)})


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, who: PageUser, an: AnalyticsDep, s: SessionDep
               ) -> HTMLResponse:
    lang = language_of(request, who)
    state = _opt(request, "state")
    state = state if state in C.TRANSITIONS else None
    filters = {"state": state, "owner": _opt(request, "owner"),
               "playbook": _opt(request, "playbook")}
    by = request.query_params.get("by", "assignee")
    by = by if by in ("assignee", "playbook") else "assignee"
    rows, count = A.query_cases(s, an, who, state=state, owner=filters["owner"],
                                playbook=filters["playbook"], limit=PAGE_ROWS,
                                offset=_offset(request))
    owners = A.owners_of(an, [c.customer_id for c in rows])
    stats = A.scoped_stats(s, an, who, by)  # type: ignore[arg-type]
    playbooks = sorted({p for (p,) in s.query(Case.playbook).distinct() if p})
    return render(request, "cases.html", who,
                  rows=[case_row(c, owners.get(c.customer_id), lang) for c in rows],
                  count=count, filters=filters, by=by,
                  pages=pager(request, _offset(request), count),
                  stats=A.stats_public(stats, by).data,
                  options={"state": list(C.TRANSITIONS), "owner": _owners_options(an, who),
                           "playbook": playbooks})


def _case_context(s: Session, an: Analytics, who: Principal, case: Case, request: Request,
                  **extra: Any) -> dict[str, Any]:
    lang = language_of(request, who)
    owner = A.owners_of(an, [case.customer_id]).get(case.customer_id)
    rules = A.rules_by_name(request)
    row = case_row(case, owner, lang)

    def event_text(kind: str, text: str) -> str:
        """A history line in ``lang``: the case's title where the line quotes it."""
        if kind == "opened" and text == case.title and case.source != "alert":
            return str(row["title"])
        return case_event_text(kind, text, lang)

    return {"case": row, "next_states": list(C.TRANSITIONS[case.state]),
            "outcomes": [st for st in C.TRANSITIONS[case.state] if st != "contacted"],
            "events": [{"at": e.at, "kind": e.kind, "text": event_text(e.kind, e.text),
                        "author": e.author, "state_from": e.state_from,
                        "state_to": e.state_to}
                       for e in case.events],
            "alerts": [alert_row(a, owner, lang, rules) for a in case.alerts],
            "message": None, "error": None, **extra}


def _not_found(request: Request, who: Principal) -> HTMLResponse:
    resp = render(request, "not_found.html", who)
    resp.status_code = 404
    return resp


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: CaseId, request: Request, who: PageUser, an: AnalyticsDep,
              s: SessionDep) -> HTMLResponse:
    try:
        case = A.case_or_404(s, an, who, case_id)
    except HTTPException:
        return _not_found(request, who)
    return render(request, "case.html", who, **_case_context(s, an, who, case, request))


def _check_csrf(request: Request, who: Principal, form_token: str) -> None:
    sent = request.headers.get("x-csrf-token") or form_token
    if who.via == "session" and not (who.csrf_token and sent and same(sent, who.csrf_token)):
        raise HTTPException(403, "missing or wrong CSRF token")


def _act(case_id: int, request: Request, who: Principal, an: Analytics, s: Session,
         csrf_token: str, change: Any) -> Response:
    """Apply ``change(case)`` to a case of ``who``'s and answer with the case block
    (HTMX) or the case page; a refused change is shown, not applied."""
    _check_csrf(request, who, csrf_token)
    try:
        case = A.case_or_404(s, an, who, case_id)
    except HTTPException:
        return _not_found(request, who)
    lang = language_of(request, who)
    status, error = 200, None
    try:  # every change checks before it writes: a refused one leaves the case as it was
        change(case)
    except HTTPException as exc:
        status, error = exc.status_code, str(exc.detail)
    except ChurnguardError as exc:
        status, error = 422, str(exc)
    htmx = bool(request.headers.get("hx-request"))
    if error is None and not htmx:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    from churnguard.i18n.ui import t

    ctx = _case_context(s, an, who, case, request,
                        message=None if error else t("act.updated", lang),
                        error=t("act.refused", lang, message=error) if error else None)
    resp = render(request, "case_body.html" if htmx else "case.html", who, **ctx)
    resp.status_code = 200 if htmx else status
    return resp


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/cases/{case_id}/contact", response_class=HTMLResponse)
def case_contact(case_id: CaseId, request: Request, who: PageUser, an: AnalyticsDep,
                 s: SessionDep, note: Annotated[str, Form(max_length=5000)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    return _act(case_id, request, who, an, s, csrf_token,
                lambda c: A.contact(s, who, c, note.strip() or None, _client(request)))


@router.post("/cases/{case_id}/note", response_class=HTMLResponse)
def case_note(case_id: CaseId, request: Request, who: PageUser, an: AnalyticsDep,
              s: SessionDep, text: Annotated[str, Form(max_length=5000)] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    return _act(case_id, request, who, an, s, csrf_token,
                lambda c: A.add_note(s, who, c, text, _client(request)))


@router.post("/cases/{case_id}/outcome", response_class=HTMLResponse)
def case_outcome(case_id: CaseId, request: Request, who: PageUser, an: AnalyticsDep,
                 s: SessionDep, outcome: Annotated[str, Form()] = "",
                 note: Annotated[str, Form(max_length=5000)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    return _act(case_id, request, who, an, s, csrf_token,
                lambda c: A.set_outcome(s, who, c, outcome, note.strip() or None,
                                        _client(request)))


def customer_actions(request: Request, customer_id: str, lang: str) -> dict[str, Any]:
    """The alerts and cases of one customer, for the customer page (which has already
    checked that the user may see this customer)."""
    state = request.app.state.cg
    rules = A.rules_by_name(request)
    with state.db.session() as s:
        alerts = list(s.query(Alert).filter(Alert.customer_id == customer_id)
                      .order_by(Alert.as_of.desc(), Alert.id.desc()).limit(50))
        cases = list(s.query(Case).filter(Case.customer_id == customer_id)
                     .order_by(Case.id.desc()).limit(50))
        return {"alerts": [alert_row(a, None, lang, rules) for a in alerts],
                "cases": [case_row(c, None, lang) for c in cases]}


def install(app: FastAPI) -> None:
    """Add the Alerts and Cases pages and the customer page's alerts and cases block."""
    app.include_router(router)
    add_nav(app, "/alerts", "nav.alerts")
    add_nav(app, "/cases", "nav.cases")
    app.state.cg.extra["templates"].env.globals["customer_actions"] = customer_actions


__all__ = ["customer_actions", "install", "router"]
