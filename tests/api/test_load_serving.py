"""The serving tables (``churnguard app-refresh``) give the same answers as computing live,
carry the reasons in words, and are ignored once the data moved on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from churnguard.api import serving as srv
from churnguard.api.analytics import Analytics
from churnguard.api.cache import FrameCache
from churnguard.warehouse import Workspace

from .fixtures_app import OWNER, PASSWORD, bearer

pytestmark = pytest.mark.slow
SCORED_AS_OF = "2026-01-01"
CJK = re.compile(r"[\u4e00-\u9fff]")
PERSIAN = re.compile(r"[\u0600-\u06ff]")


def cli(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "churnguard.cli", *args],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def scored(sim_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained and scored copy of the simulated workspace, serving tables built."""
    root = tmp_path_factory.mktemp("serving") / "shop"
    shutil.copytree(sim_workspace, root)
    cli("train", str(root), "--origins", "0")
    cli("score", str(root), "--as-of", SCORED_AS_OF, "--limit", "0")
    cli("app-refresh", str(root))
    return root


def analytics(ws: Workspace, serving: bool) -> Analytics:
    return Analytics(ws, FrameCache(ws.root, persist=False), serving=serving)


def test_serving_rows_equal_the_live_computation(scored: Path) -> None:
    with Workspace.open(scored, read_only=True) as ws:
        fast, live = analytics(ws, True), analytics(ws, False)
        assert fast.serving and not live.serving
        a = fast.customers().set_index("customer_id").sort_index()
        b = live.customers().set_index("customer_id").sort_index()
        assert list(a.index) == list(b.index)
        for col in ("status", "risk_band", "reason_1", "reason_2", "rfm_segment", "owner",
                    "model_version", "value_band"):
            assert a[col].astype("string").fillna("").equals(
                b[col].astype("string").fillna("")), col
        # the live side refits the value model: DuckDB's parallel sums feed the optimiser
        # in varying order, so CLV agrees to ~3e-7 relative, not to the last bit
        for col in ("clv", "risk", "churn_probability", "expected_loss", "p_alive"):
            np.testing.assert_allclose(a[col].astype(float), b[col].astype(float),
                                       rtol=1e-5, equal_nan=True, err_msg=col)
        # one customer: the index lookup returns the same row, its profile and history
        cid = str(b[b["churn_probability"].notna()].index[0])
        row = fast.customer(cid)
        assert row is not None and row["profile"]["customer_id"] == cid
        assert row["clv"] == pytest.approx(float(b.loc[cid, "clv"]))
        hist = fast.score_history(cid)
        assert list(hist["churn_probability"]) == pytest.approx(
            list(live.score_history(cid)["churn_probability"]))
        assert fast.customer(cid, owner="nobody") is None


def test_at_risk_pages_equal_the_live_list(scored: Path) -> None:
    with Workspace.open(scored, read_only=True) as ws:
        fast, live = analytics(ws, True), analytics(ws, False)
        for owner, filters in ((None, {}), (OWNER, {}), (None, {"risk_band": "high"}),
                               (None, {"owner": OWNER, "value_band": "high"})):
            frame, source = live.at_risk_frame(owner, filters)
            # 990: a page across the end of the rows kept in memory (AT_RISK_HEAD = 1000)
            for offset in (0, 7, 990):
                page, count, fsource = fast.at_risk(owner, filters, limit=20, offset=offset)
                assert (count, fsource) == (len(frame), source) == (count, "model")
                assert list(page["customer_id"]) == list(
                    frame["customer_id"].iloc[offset: offset + 20])
            if owner:
                assert set(page["owner"]) <= {owner}
        # past the end of a filtered list: no rows, the columns and the count still there
        page, count, _ = fast.at_risk(None, {"risk_band": "high"}, limit=20, offset=10**6)
        assert len(page) == 0 and "customer_id" in page.columns
        assert count == len(live.at_risk_frame(None, {"risk_band": "high"})[0])
        summary = fast.at_risk_summary()
        frame, _ = live.at_risk_frame()
        assert summary["high"] == int((frame["risk_band"] == "high").sum())
        assert summary["value_at_stake"] == pytest.approx(frame["expected_loss"].sum())


def test_timeline_equals_the_live_query(scored: Path) -> None:
    with Workspace.open(scored, read_only=True) as ws:
        fast, live = analytics(ws, True), analytics(ws, False)
        for cid in list(live.customers()["customer_id"].iloc[[0, 500, 1999]]):
            a, b = fast.timeline(cid, limit=50), live.timeline(cid, limit=50)
            assert len(a) == len(b) > 0
            assert list(a["at"]) == list(b["at"])
            assert sorted(a["summary"].fillna("")) == sorted(b["summary"].fillna(""))


def test_reason_sentences_match_the_one_customer_explanation(scored: Path) -> None:
    """The sentences materialised for the whole list equal what ``explain`` computes for
    one customer from scratch, in every language, with the customer's own numbers."""
    from churnguard.predict.score import explain

    with Workspace.open(scored, read_only=True) as ws:
        fast = analytics(ws, True)
        page, _, _ = fast.at_risk(None, {}, limit=3)
        for cid in page["customer_id"]:
            row = fast.customer(cid)
            assert row is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = explain(ws, cid, as_of=SCORED_AS_OF)
            for lang in ("en", "zh", "fa"):
                assert row[f"reason_1_{lang}"] == ref[f"reason_1_{lang}"]
            assert re.search(r"\d", row["reason_1_en"])
            assert CJK.search(row["reason_1_zh"])
            assert PERSIAN.search(row["reason_1_fa"])


@pytest.fixture(scope="module")
def served(scored: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from churnguard.api import create_app
    from churnguard.api.accounts import add_user, create_api_key

    db = tmp_path_factory.mktemp("servingdb") / "app.db"
    app = create_app(scored, database_url=f"sqlite:///{db}")
    with app.state.cg.db.session() as s:
        add_user(s, "alice", PASSWORD, role="analyst")
        add_user(s, "bob", PASSWORD, role="owner", owner_name=OWNER)
        app.state.cg.extra["keys"] = {u: create_api_key(s, u)[1] for u in ("alice", "bob")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = TestClient(app)
    yield c
    app.state.cg.close()


def test_score_endpoint_gives_reasons_in_words(served: TestClient) -> None:
    keys = served.app.state.cg.extra["keys"]  # type: ignore[attr-defined]
    top = served.get("/api/at-risk?limit=5", headers=bearer(keys["alice"])).json()["data"]
    cid = top[0]["customer_id"]
    zh = served.get(f"/api/scores/{cid}?lang=zh", headers=bearer(keys["alice"])).json()
    en = served.get(f"/api/scores/{cid}", headers=bearer(keys["alice"])).json()
    assert zh["churn_probability"] == pytest.approx(top[0]["probability"])
    assert [r["code"] for r in zh["reasons"]] == top[0]["reasons"]
    assert all(CJK.search(r["text"]) for r in zh["reasons"])
    assert en["language"] == "en" and re.search(r"\d", en["reasons"][0]["text"])
    # an owner reads only their own customers, by this route too
    theirs = [d for d in top if d["owner"] != OWNER]
    for d in theirs:
        r = served.get(f"/api/scores/{d['customer_id']}", headers=bearer(keys["bob"]))
        assert r.status_code == 404
        r = served.get(f"/api/customers/{d['customer_id']}", headers=bearer(keys["bob"]))
        assert r.status_code == 404
    mine = served.get("/api/at-risk?limit=20", headers=bearer(keys["bob"])).json()["data"]
    assert mine and {d["owner"] for d in mine} == {OWNER}
    assert served.get("/api/scores/NOPE", headers=bearer(keys["alice"])).status_code == 404


def test_pages_show_reasons_in_the_users_language(served: TestClient) -> None:
    served.post("/login", data={"username": "alice", "password": PASSWORD})
    keys = served.app.state.cg.extra["keys"]  # type: ignore[attr-defined]
    top = served.get("/api/at-risk?limit=1", headers=bearer(keys["alice"])).json()["data"][0]
    for lang, script in (("zh", CJK), ("fa", PERSIAN)):
        page = served.get(f"/at-risk?lang={lang}").text
        items = re.findall(r'<li data-code="([a-z_]+)">([^<]+)</li>', page)
        assert items and all(script.search(text) for _, text in items[:3])
        assert all(text != code for code, text in items)
        cust = served.get(f"/customers/{top['customer_id']}?lang={lang}").text
        reasons = re.findall(r'<li data-code="([a-z_]+)">([^<]+)</li>', cust)
        assert [c for c, _ in reasons] == top["reasons"]


def test_stale_serving_tables_are_not_used(scored: Path, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(scored, root)
    cli("score", str(root), "--as-of", "2026-02-01", "--limit", "0")  # the data moved on
    with Workspace.open(root, read_only=True) as ws:
        an = analytics(ws, True)
        assert srv.built_version(ws.warehouse.duck) != an.version
        assert not an.serving
        days = an.customers()["scored_at"].dropna().map(lambda t: str(pd.Timestamp(t).date()))
        rescored = ws.warehouse.duck.execute(
            "SELECT count(DISTINCT customer_id) FROM score_history "
            "WHERE as_of = TIMESTAMPTZ '2026-02-01 00:00:00+00'").fetchone()[0]
        assert rescored > 0 and int((days == "2026-02-01").sum()) == rescored


def test_memo_keeps_a_bounded_family_per_version(tmp_path: Path) -> None:
    """Values keyed by user input (at-risk filters) stay bounded; a new version drops all."""
    cache = FrameCache(tmp_path, persist=False)
    calls: list[str] = []

    def value(name: str) -> str:
        calls.append(name)
        return name.upper()

    for k in range(5):
        assert cache.memo("v1", f"ranks:{k}", lambda k=k: value(f"f{k}"), keep=3) == f"F{k}"
    assert cache.memo("v1", "head", lambda: value("head")) == "HEAD"
    # the three newest filters are kept, the two oldest computed again
    for k in (2, 3, 4, 0):
        cache.memo("v1", f"ranks:{k}", lambda k=k: value(f"f{k}"), keep=3)
    assert calls == ["f0", "f1", "f2", "f3", "f4", "head", "f0"]
    cache.memo("v2", "head", lambda: value("head2"))
    cache.memo("v2", "ranks:4", lambda: value("f4-v2"), keep=3)
    assert calls[-2:] == ["head2", "f4-v2"]
