"""``churnguard report``: one self-contained HTML file (charts and Plotly's JavaScript
embedded, no network) with overview, cohorts, survival, segments, reasons and the top of
the at-risk list; a print stylesheet puts each section on its own page for PDF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape

from churnguard.api.analytics import Analytics
from churnguard.api.cache import FrameCache
from churnguard.i18n import LANGUAGES
from churnguard.i18n import ui as i18n
from churnguard.web import pages

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

TEMPLATES = Path(__file__).parent / "templates"


def _reasons(ws: Workspace) -> list[dict[str, object]]:
    """Shares of the main churn reasons (structured choices and classified text)."""
    from churnguard.errors import ChurnguardError
    from churnguard.reasons import churn_reasons, reason_mentions

    try:
        r = churn_reasons(reason_mentions(ws, None))
    except (ChurnguardError, ValueError):
        return []
    if r.empty:
        return []
    share = r["reason"].value_counts(normalize=True)
    return [{"reason": k, "share": float(v)} for k, v in share.items()]


def render_report(ws: Workspace, *, language: str = "en", top: int = 50) -> str:
    """The report as one HTML string."""
    from plotly.offline import get_plotlyjs

    if language not in LANGUAGES:
        from churnguard.errors import InputError

        raise InputError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    an = Analytics(ws, FrameCache(ws.root, persist=False))
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html"]))
    env.globals.update(t=i18n.t, reason_label=i18n.reason_label, number=i18n.number,
                       money=i18n.money, percent=i18n.percent,
                       date=i18n.format_date)
    ctx = {
        "lang": language, "rtl": i18n.is_rtl(language), "plotly_js": get_plotlyjs(),
        "name": ws.config.workspace.name,
        "when": i18n.format_date(dt.datetime.now(dt.UTC), language),
        "overview": pages.overview(an, None, "month", language),
        "cohorts": pages.cohorts(an, None, "plan", language),
        "segments": pages.segments(an, None, "region", language),
        "at_risk": pages.at_risk(an, None, {}, limit=top),
        "reasons": _reasons(ws), "top": top,
    }
    return env.get_template("report.html").render(**ctx)


def write_report(ws: Workspace, out: Path, *, language: str = "en", top: int = 50) -> Path:
    out.write_text(render_report(ws, language=language, top=top), encoding="utf-8")
    return out
