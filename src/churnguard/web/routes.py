"""Dashboard routes: sign in/out, language, the pages, CSV export and static files.

Pages need a browser session (else a redirect to ``/login``). Forms that change state
carry the session's CSRF token (``csrf_token`` field); the session cookie is HttpOnly and
SameSite=Lax.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from churnguard.api.accounts import (
    Principal,
    audit,
    authenticate,
    end_session,
    start_session,
)
from churnguard.api.analytics import Analytics
from churnguard.api.deps import AnalyticsDep, SessionDep, StateDep, principal_of
from churnguard.api.security import same
from churnguard.i18n import LANGUAGES
from churnguard.i18n import ui as i18n
from churnguard.web import pages

TEMPLATES = Path(__file__).parent / "templates"
#: the dashboard's navigation: (path, UI-string key); area modules append theirs with
#: :func:`add_nav` when they install their routes
NAV: list[tuple[str, str]] = [
    ("/", "nav.overview"), ("/at-risk", "nav.at_risk"), ("/cohorts", "nav.cohorts"),
    ("/segments", "nav.segments"), ("/lost", "nav.lost"), ("/model", "nav.model")]
STATIC = {"htmx.min.js": "application/javascript", "app.css": "text/css"}


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to /login."""


def templates() -> Jinja2Templates:
    tpl = Jinja2Templates(directory=str(TEMPLATES))
    env = tpl.env
    env.globals.update(t=i18n.t, reason_label=i18n.reason_label, number=i18n.number,
                       money=i18n.money,
                       percent=i18n.percent, date=i18n.format_date,
                       language_names=i18n.LANGUAGE_NAMES, languages=LANGUAGES)
    return tpl


def language_of(request: Request, who: Principal | None = None) -> str:
    state = request.app.state.cg
    lang = request.query_params.get("lang") or request.cookies.get(
        state.settings.language_cookie) or (who.language if who else None)
    if lang in LANGUAGES:
        return str(lang)
    accept = request.headers.get("accept-language", "")
    for code in LANGUAGES:
        if accept.lower().startswith(code):
            return code
    return "en"


def page_user(request: Request, s: SessionDep, state: StateDep) -> Principal:
    who = principal_of(request, s, state)
    if who is None:
        raise LoginRequired()
    return who


PageUser = Annotated[Principal, Depends(page_user)]
router = APIRouter(tags=["dashboard"], include_in_schema=False)


def render(request: Request, name: str, who: Principal | None, **context: Any
           ) -> HTMLResponse:
    lang = language_of(request, who)
    tpl: Jinja2Templates = request.app.state.cg.extra["templates"]
    return tpl.TemplateResponse(request, name, {
        "lang": lang, "rtl": i18n.is_rtl(lang), "who": who, "path": request.url.path,
        "nav": request.app.state.cg.extra.get("nav", NAV), **context})


def add_nav(app: FastAPI, href: str, key: str) -> None:
    """Add a page to this app's navigation bar (after :func:`install`)."""
    nav = app.state.cg.extra.setdefault("nav", list(NAV))
    if (href, key) not in nav:
        nav.append((href, key))


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {k: (q.get(k) or None) for k in ("segment", "owner", "risk_band", "value_band")}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, failed=False)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, s: SessionDep, state: StateDep,
          username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
    user = authenticate(s, username, password)
    client = request.client.host if request.client else ""
    if user is None:
        audit(s, None, "login.failed", username[:80], client=client)
        page = render(request, "login.html", None, failed=True)
        page.status_code = 401
        return page
    token, _ = start_session(s, user)
    audit(s, Principal.of(user), "login", user.username, client=client)
    s.commit()  # before the redirect: the browser asks for / at once, with the cookie
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(state.settings.session_cookie, token, httponly=True, samesite="lax",
                    secure=state.settings.secure_cookies, max_age=12 * 3600)
    return resp


@router.post("/logout")
def logout(request: Request, s: SessionDep, state: StateDep, who: PageUser,
           csrf_token: Annotated[str, Form()] = "") -> Response:
    if who.via == "session" and not (who.csrf_token and same(csrf_token, who.csrf_token)):
        raise HTTPException(403, "missing or wrong CSRF token")
    token = request.cookies.get(state.settings.session_cookie, "")
    end_session(s, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(state.settings.session_cookie)
    return resp


@router.get("/lang/{code}")
def set_language(code: str, request: Request, state: StateDep) -> Response:
    if code not in LANGUAGES:
        raise HTTPException(404, f"no language {code!r}")
    back = request.headers.get("referer") or "/"
    resp = RedirectResponse(back if back.startswith(str(request.base_url)) else "/",
                            status_code=303)
    resp.set_cookie(state.settings.language_cookie, code, samesite="lax", max_age=365 * 86400)
    return resp


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: PageUser, an: AnalyticsDep, period: str = "month"
             ) -> HTMLResponse:
    period = period if period in pages.PERIODS else "month"
    lang = language_of(request, who)
    return render(request, "overview.html", who,
                  **pages.overview(an, who.owner_scope, period, lang))


@router.get("/at-risk", response_class=HTMLResponse)
def at_risk(request: Request, who: PageUser, an: AnalyticsDep) -> HTMLResponse:
    ctx = pages.at_risk(an, who.owner_scope, _filters(request))
    name = "at_risk_rows.html" if request.headers.get("hx-request") else "at_risk.html"
    return render(request, name, who, **ctx)


@router.get("/at-risk.csv")
def at_risk_csv(request: Request, who: PageUser, an: AnalyticsDep, s: SessionDep) -> Response:
    text = pages.at_risk_csv(an, who.owner_scope, _filters(request))
    audit(s, who, "export.at_risk", "", str(_filters(request)))
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="at-risk.csv"'})


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(customer_id: str, request: Request, who: PageUser, an: AnalyticsDep
             ) -> HTMLResponse:
    ctx = pages.customer(an, who.owner_scope, customer_id, language_of(request, who))
    if ctx is None:
        resp = render(request, "not_found.html", who)
        resp.status_code = 404
        return resp
    return render(request, "customer.html", who, **ctx)


@router.get("/cohorts", response_class=HTMLResponse)
def cohorts(request: Request, who: PageUser, an: AnalyticsDep, by: str | None = None
            ) -> HTMLResponse:
    return render(request, "cohorts.html", who,
                  **pages.cohorts(an, who.owner_scope, by, language_of(request, who)))


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, who: PageUser, an: AnalyticsDep, dimension: str = "region"
             ) -> HTMLResponse:
    return render(request, "segments.html", who,
                  **pages.segments(an, who.owner_scope, dimension, language_of(request, who)))


@router.get("/lost", response_class=HTMLResponse)
def lost(request: Request, who: PageUser, an: AnalyticsDep) -> HTMLResponse:
    return render(request, "lost.html", who, **pages.lost(an, who.owner_scope))


@router.get("/model", response_class=HTMLResponse)
def model(request: Request, who: PageUser, an: AnalyticsDep) -> HTMLResponse:
    return render(request, "model.html", who, **pages.model(an))


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    """Plotly's JavaScript from the installed plotly package (works offline)."""
    from plotly.offline import get_plotlyjs

    return Response(get_plotlyjs(), media_type="application/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise HTTPException(404, "no such file")
    data = resources.files("churnguard.web").joinpath("static", name).read_bytes()
    return Response(data, media_type=STATIC[name],
                    headers={"Cache-Control": "public, max-age=86400"})


def install(app: FastAPI) -> None:
    """Add the dashboard to an app made by :func:`churnguard.api.create_app`."""
    app.state.cg.extra["templates"] = templates()
    app.state.cg.extra["nav"] = list(NAV)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    app.include_router(router)
    from churnguard.web import routes_decide

    routes_decide.install(app)
    from churnguard.web import routes_act

    routes_act.install(app)
    from churnguard.web import routes_admin

    routes_admin.install(app)


__all__ = ["NAV", "Analytics", "add_nav", "install", "render"]
