"""Browser test of the reasons and experiments pages (Playwright + Debian's Chromium).

Skipped with the reason when Chromium or Playwright is missing (see test_browser.py).
"""

from __future__ import annotations

from pathlib import Path

from web.test_browser import ARTIFACTS, browser, server, sign_in  # noqa: F401


def test_reasons_and_experiments_in_a_browser(server: str, browser: object) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(90_000)  # the first page computes the cached aggregates
    sign_in(page, server, "alice")
    page.goto(f"{server}/reasons")
    page.wait_for_selector("#reason-breakdown tr td")
    page.wait_for_selector(".plotly-graph-div")
    page.select_option("select[name=by]", "region")
    page.wait_for_function("location.search.includes('by=region')")
    assert page.locator("#reason-segments tr").count() > 2
    page.screenshot(path=str(ARTIFACTS / "reasons-en.png"), full_page=True)

    page.click("a[href='/experiments']")
    page.wait_for_selector("#campaigns tr td a")
    # the calculator answers in place (HTMX), without leaving the page
    page.fill("#power-form input[name=baseline]", "0.8")
    page.fill("#power-form input[name=mde]", "0.05")
    page.click("#power-form button[type=submit]")
    page.wait_for_selector("#power-answer")
    assert "906" in page.inner_text("#power-answer")
    assert page.url.endswith("/experiments")
    page.screenshot(path=str(ARTIFACTS / "experiments-en.png"), full_page=True)
    page.click("#campaigns tr td a >> nth=0")
    page.wait_for_selector("#overall-lift, #experiment-error")
    page.screenshot(path=str(ARTIFACTS / "experiment-en.png"), full_page=True)

    page.click("a[href='/winback']")
    page.wait_for_selector("#winback-table tbody tr")
    page.select_option("select[name=action]", "offer")
    page.wait_for_function("location.search.includes('action=offer')")
    page.screenshot(path=str(ARTIFACTS / "winback-en.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#winback-export")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("priority,customer_id") and len(lines) > 1
    assert all(",offer," in line for line in lines[1:])

    page.goto(f"{server}/lang/zh")
    page.goto(f"{server}/reasons")
    assert "客户为何离开" in page.inner_text("h1")
    page.screenshot(path=str(ARTIFACTS / "reasons-zh.png"), full_page=True)
    page.goto(f"{server}/lang/fa")
    page.goto(f"{server}/experiments")
    assert page.get_attribute("html", "dir") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "experiments-fa.png"), full_page=True)
    page.goto(f"{server}/lang/en")
    page.close()
