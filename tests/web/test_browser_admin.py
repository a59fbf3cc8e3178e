"""Browser test of the admins' users page: an admin adds an owner, gives them an API key,
disables and re-enables them, in Chromium; the new owner signs in and sees only their
customers; an analyst has no Users link. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from api.fixtures_app import OWNER, PASSWORD
from web.test_browser import ARTIFACTS, _login, browser, server  # noqa: F401


def test_admin_manages_users_in_a_browser(server: str, browser: object) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(120_000)  # the first page computes the workspace's aggregates
    _login(page, server, "root")
    page.click("a[href='/admin/users']")
    page.wait_for_selector("#users-table")
    page.fill("#add-user input[name=username]", "erin")
    page.fill("#add-user input[name=password]", PASSWORD)
    page.select_option("#add-user select[name=role]", "owner")
    page.fill("#add-user input[name=owner_name]", OWNER)
    page.click("#add-user button[type=submit]")
    page.wait_for_selector("tr[data-user=erin]")
    page.fill("tr[data-user=erin] input[name=name]", "crm")
    page.click("tr[data-user=erin] button.new-key")
    key = page.inner_text("#new-key-value")
    assert key.startswith("cg_")
    page.screenshot(path=str(ARTIFACTS / "admin-users-en.png"), full_page=True)
    page.click("tr[data-user=erin] button.toggle")
    page.wait_for_selector("#admin-done")
    assert page.inner_text("tr[data-user=erin] td.status") == "disabled"
    page.click("tr[data-user=erin] button.toggle")
    page.wait_for_selector("#admin-done")
    assert page.inner_text("tr[data-user=erin] td.status") == "active"
    page.goto(f"{server}/lang/zh")
    page.goto(f"{server}/admin/users")
    assert page.inner_text("tr[data-user=erin] td.status") == "启用"
    page.screenshot(path=str(ARTIFACTS / "admin-users-zh.png"), full_page=True)
    page.goto(f"{server}/lang/en")
    page.close()

    owner = browser.new_page()  # type: ignore[attr-defined]
    owner.set_default_timeout(120_000)
    _login(owner, server, "erin")
    owner.goto(f"{server}/at-risk")
    owners = owner.locator("#at-risk-table tbody tr td:nth-child(2)").all_inner_texts()
    assert owners and set(owners) == {OWNER}
    assert owner.locator("a[href='/admin/users']").count() == 0
    owner.goto(f"{server}/admin/users")
    assert owner.locator("#users-table").count() == 0
    owner.close()
