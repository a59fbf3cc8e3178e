"""Dashboard pages in three languages, owner scoping of pages and exports, the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.fixtures_app import OWNER, PASSWORD, Users
from churnguard.i18n import LANGUAGES, placeholders
from churnguard.i18n.ui import format_date, t, ui_catalog

PAGES = ["/", "/?period=quarter", "/at-risk", "/cohorts", "/cohorts?by=plan", "/segments",
         "/segments?dimension=plan", "/lost", "/model"]


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303


@pytest.fixture()
def as_alice(client: TestClient, users: Users) -> Iterator[TestClient]:
    login(client, "alice")
    yield client
    client.cookies.clear()


@pytest.fixture()
def as_bob(client: TestClient, users: Users) -> Iterator[TestClient]:
    login(client, "bob")
    yield client
    client.cookies.clear()


def test_every_ui_string_is_translated() -> None:
    keys = {lang: set(ui_catalog(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        assert keys[lang] == keys["en"], (lang, keys[lang] ^ keys["en"])
        for key, text in ui_catalog(lang).items():
            assert text.strip(), (lang, key)
    en, fa = ui_catalog("en"), ui_catalog("fa")
    for lang in LANGUAGES:
        for key, text in ui_catalog(lang).items():
            assert placeholders(text) == placeholders(en[key]), (lang, key)
    for key in keys["en"]:  # translated, not copied (a brand name may stay)
        assert fa[key] != en[key] or key == "app.title", key


def test_templates_use_only_known_keys() -> None:
    root = Path(__file__).parents[2] / "src" / "churnguard" / "web" / "templates"
    used = set()
    for f in root.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-z_]+)'", f.read_text(encoding="utf-8")))
    missing = {k for k in used if k not in ui_catalog("en") and not k.startswith("band.")}
    assert not missing


def test_pages_need_login(client: TestClient, users: Users) -> None:
    client.cookies.clear()
    for page in [*PAGES, "/at-risk.csv", "/customers/C000001"]:
        r = client.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_render_in_every_language(as_alice: TestClient, lang: str) -> None:
    for page in PAGES:
        r = as_alice.get(page, params={"lang": lang})
        assert r.status_code == 200, (page, r.text[:500])
        assert f'lang="{lang}"' in r.text
        assert t("nav.overview", lang) in r.text
        if lang == "fa":
            assert 'dir="rtl"' in r.text
    r = as_alice.get("/", params={"lang": "fa"})
    assert re.search("[۰-۹]", r.text)


def test_language_cookie(as_alice: TestClient) -> None:
    r = as_alice.get("/lang/zh", follow_redirects=False)
    assert r.status_code == 303
    assert "总览" in as_alice.get("/").text
    as_alice.get("/lang/en")


def test_customer_page_and_htmx_rows(as_alice: TestClient) -> None:
    r = as_alice.get("/customers/C000002")
    assert r.status_code == 200 and "C000002" in r.text
    rows = as_alice.get("/at-risk", params={"risk_band": "high"}, headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text and "at-risk-table" in rows.text


def test_owner_pages_and_exports_are_scoped(as_bob: TestClient, users: Users) -> None:
    other = users.other_owner_name
    csv = as_bob.get("/at-risk.csv").text.splitlines()
    assert csv[0].startswith("customer_id,") and len(csv) > 1
    assert all(f",{OWNER}," in line for line in csv[1:])
    assert as_bob.get("/at-risk.csv", params={"owner": other}).text.count("\n") == 1
    page = as_bob.get("/at-risk").text
    assert other not in page
    lost = as_bob.get("/lost").text
    assert other not in lost


def test_owner_cannot_open_another_owners_customer_page(as_bob: TestClient,
                                                       sim_workspace: Path) -> None:
    import duckdb

    con = duckdb.connect(str(sim_workspace / "warehouse.duckdb"), read_only=True)
    theirs = con.execute("SELECT min(customer_id) FROM customers WHERE owner <> ?",
                         [OWNER]).fetchone()[0]
    mine = con.execute("SELECT min(customer_id) FROM customers WHERE owner = ?",
                       [OWNER]).fetchone()[0]
    con.close()
    assert as_bob.get(f"/customers/{theirs}").status_code == 404
    assert as_bob.get(f"/customers/{mine}").status_code == 200


def test_logout_needs_csrf(as_alice: TestClient) -> None:
    assert as_alice.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    page = as_alice.get("/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = as_alice.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert as_alice.get("/", follow_redirects=False).status_code == 303


def test_static_files(client: TestClient) -> None:
    assert "Plotly" in client.get("/static/plotly.min.js").text[:5000]
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/static/../secret").status_code == 404


def test_dates_per_locale() -> None:
    assert format_date("2026-06-30", "en") == "2026-06-30"
    assert format_date("2026-06-30", "zh") == "2026年6月30日"
    assert format_date("2026-06-30", "fa") == "۱۴۰۵/۰۴/۰۹"


def test_report_is_self_contained(sim_workspace: Path, tmp_path: Path) -> None:
    from churnguard.warehouse import Workspace
    from churnguard.web.report import write_report

    out = tmp_path / "churn-report.html"
    with Workspace.open(sim_workspace, read_only=True) as ws:
        write_report(ws, out, language="fa", top=50)
    html = out.read_text(encoding="utf-8")
    assert 'dir="rtl"' in html
    assert not re.search(r'<script[^>]+src=|<link[^>]+href="http', html)  # no network
    for section in ("overview", "cohorts", "segments", "reasons", "at-risk"):
        assert f'id="{section}"' in html
    assert "@media print" in html
