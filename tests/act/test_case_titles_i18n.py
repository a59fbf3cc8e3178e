"""Cases opened by complaints and negative feedback show their title in the reader's
language on the dashboard (the Cases page, the case page and its history, the customer
page), in English as stored, and with an unknown category as written.

The cases are opened the real way: a few hand-made customers, tickets and feedback rows
are ingested into a fresh workspace and :func:`churnguard.act.cases.cases_from_feedback`
opens them; the pages are rendered by the app on that workspace for users whose language
is en, zh or fa.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from churnguard.act.cases import cases_from_feedback
from churnguard.act.models import Case
from churnguard.act.words import case_title
from churnguard.appdb import AppDB
from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest_rows import ingest_rows

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)
PASSWORD = "correct-horse-battery"

CUSTOMERS = [{"customer_id": c, "signup_at": "2025-01-05", "owner": "Bob Li"}
             for c in ("K1", "K2", "K3", "K4", "K5")]
TICKETS = [  # complaints of the week before AS_OF
    {"ticket_id": "T1", "customer_id": "K1", "opened_at": "2026-03-08T09:00:00Z",
     "category": "billing", "is_complaint": "true"},
    {"ticket_id": "T2", "customer_id": "K2", "opened_at": "2026-03-07T09:00:00Z",
     "category": "Warranty claim", "is_complaint": "true"},
    # joins K1's open case: a line of its history
    {"ticket_id": "T3", "customer_id": "K1", "opened_at": "2026-03-09T09:00:00Z",
     "category": "refund", "is_complaint": "true"},
    # not a complaint: no case
    {"ticket_id": "T4", "customer_id": "K5", "opened_at": "2026-03-08T09:00:00Z",
     "category": "bug", "is_complaint": "false"},
]
FEEDBACK = [
    {"feedback_id": "F1", "customer_id": "K3", "at": "2026-03-06T10:00:00Z",
     "source": "nps", "score": "3", "reason": "price"},
    {"feedback_id": "F2", "customer_id": "K4", "at": "2026-03-05T10:00:00Z",
     "source": "exit_survey"},
    # NPS 9 is not negative: no case
    {"feedback_id": "F3", "customer_id": "K5", "at": "2026-03-05T10:00:00Z",
     "source": "nps", "score": "9", "reason": "competitor"},
]

#: what each language must show for each case (customer -> title), written by hand
EXPECTED = {
    "en": {"K1": "complaint (billing)", "K2": "complaint (Warranty claim)",
           "K3": "nps feedback (price)", "K4": "exit_survey feedback (unclassified)"},
    "zh": {"K1": "投诉（账单）", "K2": "投诉（Warranty claim）",
           "K3": "NPS反馈（价格原因）", "K4": "退出调查反馈（未归类）"},
    "fa": {"K1": "شکایت (صورت‌حساب)", "K2": "شکایت (Warranty claim)",
           "K3": "بازخورد نظرسنجی NPS (به خاطر قیمت)",
           "K4": "بازخورد نظرسنجی خروج (طبقه‌بندی‌نشده)"},
}


@dataclass
class Shop:
    client: TestClient
    case_of: dict[str, int]  # customer -> case id


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    from churnguard.api import create_app
    from churnguard.api.accounts import add_user

    root = tmp_path_factory.mktemp("titles") / "shop"
    url = f"sqlite:///{root.parent / 'app.db'}"
    with Workspace.init(root) as ws:
        for table, rows in (("customers", CUSTOMERS), ("tickets", TICKETS),
                            ("feedback", FEEDBACK)):
            ingest_rows(ws, table, rows)
        db = AppDB(url)
        db.upgrade()
        assert cases_from_feedback(ws, db, AS_OF) == 4
    with db.session() as s:
        case_of = {c.customer_id: c.id for c in s.query(Case)}
        for lang in ("en", "zh", "fa"):
            add_user(s, f"user_{lang}", PASSWORD, role="analyst", language=lang)
    db.dispose()
    app = create_app(root, database_url=url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = TestClient(app)
    yield Shop(client, case_of)
    app.state.cg.close()


def sign_in(client: TestClient, lang: str) -> None:
    """Sign in as the user whose language is ``lang`` (no ?lang=, no cookie)."""
    client.cookies.clear()
    r = client.post("/login", data={"username": f"user_{lang}", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303


def subjects(page: str) -> dict[str, str]:
    """Customer -> the subject cell of the Cases table, as the reader sees it."""
    rows = re.findall(r'<a href="/customers/([^"]+)">.*?<td title="([^"]*)">', page,
                      re.DOTALL)
    return {cid: html.unescape(title) for cid, title in rows}


@pytest.mark.parametrize("lang", ["en", "zh", "fa"])
def test_cases_page_shows_titles_in_the_users_language(shop: Shop, lang: str) -> None:
    sign_in(shop.client, lang)
    r = shop.client.get("/cases")
    assert r.status_code == 200
    assert f'lang="{lang}"' in r.text
    assert subjects(r.text) == EXPECTED[lang]
    shop.client.cookies.clear()


@pytest.mark.parametrize("lang", ["zh", "fa"])
def test_case_and_customer_pages_show_the_title_and_history_in_the_language(
        shop: Shop, lang: str) -> None:
    sign_in(shop.client, lang)
    case_id = shop.case_of["K1"]
    page = html.unescape(shop.client.get(f"/cases/{case_id}").text)
    subject = re.search(r"<tr><th>[^<]+</th><td>([^<]*)</td></tr>", page)
    assert subject is not None and subject.group(1) == EXPECTED[lang]["K1"]
    history = re.findall(r'<td class="event-text">([^<]*)</td>', page)
    joined = {"zh": "投诉（退款） [投诉 T3]", "fa": "شکایت (بازپرداخت) [شکایت T3]"}[lang]
    assert history == [EXPECTED[lang]["K1"], joined]
    assert "complaint" not in page.split('id="case-history"')[1]
    customer = html.unescape(shop.client.get("/customers/K3").text)
    assert EXPECTED[lang]["K3"] in customer and "nps feedback" not in customer
    shop.client.cookies.clear()


def test_english_history_and_api_keep_the_stored_title(shop: Shop) -> None:
    sign_in(shop.client, "fa")
    page = html.unescape(shop.client.get(f"/cases/{shop.case_of['K1']}",
                                         params={"lang": "en"}).text)
    history = re.findall(r'<td class="event-text">([^<]*)</td>', page)
    assert history == ["complaint (billing)", "complaint (refund) [complaint T3]"]
    api = shop.client.get(f"/api/cases/{shop.case_of['K3']}", params={"lang": "fa"})
    assert api.status_code == 200
    assert api.json()["case"]["title"] == "nps feedback (price)"
    shop.client.cookies.clear()


def test_a_title_that_is_not_the_generated_one_is_shown_as_stored() -> None:
    # the category disagrees with the title (e.g. a title written by hand): left alone
    assert case_title("complaint", "billing", "complaint (refund)", "zh") == \
        "complaint (refund)"
    assert case_title("complaint", "billing", "call back about the invoice", "fa") == \
        "call back about the invoice"
    # an alert's or a manual case: not this function's business
    assert case_title("manual", None, "complaint (billing)", "zh") == "complaint (billing)"
    # a known category is matched regardless of case and spacing; digits stay as written
    assert case_title("complaint", "How To", "complaint (How To)", "zh") == "投诉（使用咨询）"
    assert case_title("complaint", "2024", "complaint (2024)", "fa") == "شکایت (2024)"
