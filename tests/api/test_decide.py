"""``/api/reasons``, ``/api/experiments`` and the reasons / experiments pages.

References are computed straight from the library on the same simulated data (a second
read-only copy of the workspace), so the routes must add nothing and lose nothing; owner
scoping is checked against the owner's own customers counted in the warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.fixtures_app import OWNER, PASSWORD, Users, bearer


@pytest.fixture(scope="module")
def reference(sim_workspace: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, pd.DataFrame]:
    """Reasons and campaign results computed by the library on a copy of the data."""
    from churnguard import reasons as R
    from churnguard.act.experiments import campaign_periods
    from churnguard.act.winback import winback
    from churnguard.warehouse import Workspace

    root = tmp_path_factory.mktemp("decide") / "shop"
    shutil.copytree(sim_workspace, root)
    with Workspace.open(root, read_only=True) as ws:
        per = R.churn_reasons(R.reason_mentions(ws, None))
        owners = ws.warehouse.table("customers").select("customer_id", "owner").to_pandas()
        periods = campaign_periods(ws)
        lost = winback(ws, model=None)
    return {"per": per, "owners": owners, "periods": periods, "winback": lost}


def test_reasons_equal_the_library_and_shares_add_up(
        client: TestClient, keys: dict[str, str], reference: dict[str, pd.DataFrame]) -> None:
    r = client.get("/api/reasons", headers=bearer(keys["alice"]))
    assert r.status_code == 200, r.text
    body = r.json()
    per = reference["per"]
    assert body["structured"] + body["from_text"] == len(per) > 0
    assert body["churners"] == per["customer_id"].nunique()
    got = {(b["reason"], b["sub_reason"]): b["n"] for b in body["breakdown"]}
    want = per.groupby(["reason", "sub_reason"]).size().to_dict()
    assert got == want
    assert sum(b["share"] for b in body["breakdown"]) == pytest.approx(1.0)
    for month in {p["month"] for p in body["trend"]}:
        assert sum(p["share"] for p in body["trend"] if p["month"] == month) == pytest.approx(1)


def test_reasons_by_segment_and_bad_segment(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/reasons?by=contract_type", headers=bearer(keys["alice"]))
    assert r.status_code == 200
    seg = r.json()["by_segment"]
    assert {s["segment"] for s in seg} >= {"month-to-month"}
    assert sum(s["n"] for s in seg) == sum(b["n"] for b in r.json()["breakdown"])
    bad = client.get("/api/reasons?by=password_hash", headers=bearer(keys["alice"]))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def test_owner_sees_reasons_of_own_customers_only(
        client: TestClient, keys: dict[str, str], reference: dict[str, pd.DataFrame]) -> None:
    owners = reference["owners"]
    mine = set(owners.loc[owners["owner"] == OWNER, "customer_id"])
    per = reference["per"]
    want = per[per["customer_id"].isin(mine)]
    body = client.get("/api/reasons", headers=bearer(keys["bob"])).json()
    assert body["scope"] == f"owner:{OWNER}"
    assert 0 < body["structured"] + body["from_text"] == len(want) < len(per)
    assert body["churners"] == want["customer_id"].nunique()


def test_winback_list_equals_the_library_and_is_scoped(
        client: TestClient, keys: dict[str, str], reference: dict[str, pd.DataFrame]) -> None:
    want = reference["winback"]
    body = client.get("/api/winback?limit=1000", headers=bearer(keys["alice"])).json()
    assert body["count"] == len(want) > 0
    assert body["counts"] == {str(k): int(v) for k, v in want["action"].value_counts().items()}
    got = [(d["customer_id"], d["action"], d["offer"]) for d in body["data"]]
    assert got == [(r.customer_id, r.action, r.offer if isinstance(r.offer, str) else None)
                   for r in want.head(1000).itertuples()]
    offers = client.get("/api/winback?action=offer", headers=bearer(keys["alice"])).json()
    assert offers["count"] == body["counts"].get("offer", 0)
    assert all(d["action"] == "offer" and d["offer"] for d in offers["data"])
    owners = reference["owners"]
    mine = set(owners.loc[owners["owner"] == OWNER, "customer_id"])
    bob = client.get("/api/winback?limit=1000", headers=bearer(keys["bob"])).json()
    assert bob["count"] == int(want["customer_id"].isin(mine).sum()) < body["count"]
    assert {d["owner"] for d in bob["data"]} == {OWNER}
    bad = client.get("/api/winback?action=bribe", headers=bearer(keys["bob"]))
    assert bad.status_code == 422


def test_winback_page_and_export_are_scoped(client: TestClient, users: Users,
                                            reference: dict[str, pd.DataFrame]) -> None:
    import io

    c = _login(client, users.owner)
    page = c.get("/winback")
    assert page.status_code == 200 and 'id="winback-table"' in page.text
    csv = pd.read_csv(io.StringIO(c.get("/winback.csv").text))
    owners = reference["owners"]
    mine = set(owners.loc[owners["owner"] == OWNER, "customer_id"])
    want = reference["winback"]
    assert len(csv) == int(want["customer_id"].isin(mine).sum()) > 0
    assert set(csv["owner"]) == {OWNER}
    skips = pd.read_csv(io.StringIO(c.get("/winback.csv?action=skip").text))
    assert set(skips["action"]) <= {"skip"} and skips["priority"].isna().all()


def test_examples_are_classified_text_once_a_model_is_trained(
        client: TestClient, keys: dict[str, str], app_workspace: Path,
        reference: dict[str, pd.DataFrame]) -> None:
    from churnguard.reasons import train
    from churnguard.warehouse import Workspace

    before = client.get("/api/reasons", headers=bearer(keys["alice"])).json()
    # train in a copy (the server holds the warehouse), then drop the model into place
    scratch = app_workspace.parent / "train-copy"
    shutil.copytree(app_workspace, scratch, ignore=shutil.ignore_patterns(".cache"))
    with Workspace.open(scratch) as ws:
        model = train(ws).model
    shutil.copytree(scratch / "models" / "reasons", app_workspace / "models" / "reasons",
                    dirs_exist_ok=True)
    after = client.get("/api/reasons", headers=bearer(keys["alice"])).json()
    assert before["classifier"] is None and after["classifier"] == model.model_id_
    unknown = sum(b["n"] for b in after["breakdown"] if b["reason"] == "unknown")
    unknown_before = sum(b["n"] for b in before["breakdown"] if b["reason"] == "unknown")
    assert unknown < unknown_before  # free text is now read, not counted as unknown
    ex = client.get("/api/reasons/examples?per_reason=3", headers=bearer(keys["alice"])).json()
    assert ex["count"] > 0
    assert all(e["reason"] != "unknown" and e["text"] for e in ex["data"])
    assert {e["language"] for e in ex["data"]} & {"zh", "fa", "en"}


def test_campaign_list_equals_the_library(
        client: TestClient, keys: dict[str, str], reference: dict[str, pd.DataFrame]) -> None:
    body = client.get("/api/experiments", headers=bearer(keys["bob"])).json()
    want = reference["periods"]
    assert body["count"] == len(want) > 0
    for got, (_, row) in zip(body["data"], want.iterrows(), strict=True):
        assert got["campaign_id"] == row["campaign_id"]
        assert got["n_treated"] == row["n_treated"] and got["n_control"] == row["n_control"]
        if pd.notna(row["lift"]):
            assert got["low"] <= got["lift"] <= got["high"]
            assert got["lift"] == pytest.approx(row["lift"])


def test_one_campaign_by_segment_and_unknown_campaign(
        client: TestClient, keys: dict[str, str], reference: dict[str, pd.DataFrame]) -> None:
    periods = reference["periods"]
    cid = str(periods.loc[periods["lift"].notna(), "campaign_id"].iloc[0])
    r = client.get(f"/api/experiments/{cid}?by=contract_type", headers=bearer(keys["alice"]))
    assert r.status_code == 200, r.text
    rows = r.json()["lift"]
    assert rows[0]["segment"] == "all"
    overall = periods.set_index("campaign_id").loc[cid]
    assert rows[0]["n_treated"] == overall["n_treated"]
    assert rows[0]["lift"] == pytest.approx(overall["lift"])
    assert sum(x["n_treated"] for x in rows[1:]) <= rows[0]["n_treated"]
    missing = client.get("/api/experiments/CMP999", headers=bearer(keys["alice"]))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_power_calculator(client: TestClient, keys: dict[str, str]) -> None:
    # Fleiss' pooled formula, p0 = 0.80, p1 = 0.85, alpha 0.05 two-sided, power 0.8:
    # p = 0.825, z_a = 1.95996, z_b = 0.84162:
    # (1.95996 sqrt(2 * 0.825 * 0.175) + 0.84162 sqrt(0.85 * 0.15 + 0.8 * 0.2))^2 / 0.05^2
    # = (1.05325 + 0.45125)^2 / 0.0025 = 905.4 -> 906 per arm
    r = client.get("/api/experiments/power?baseline=0.8&mde=0.05", headers=bearer(keys["bob"]))
    assert r.json() == {"baseline": 0.8, "mde": 0.05, "alpha": 0.05, "power": 0.8,
                        "ratio": 1.0, "n_treated": 906, "n_control": 906, "total": 1812,
                        "message": None}
    # valid values, impossible together: answered, with no sample size and the reason
    bad = client.get("/api/experiments/power?baseline=0.99&mde=0.05",
                     headers=bearer(keys["bob"])).json()
    assert bad["n_treated"] is None and "between 0 and 1" in bad["message"]
    assert client.get("/api/experiments/power?baseline=1.2&mde=0.05",
                      headers=bearer(keys["bob"])).status_code == 422


def test_reasons_and_experiments_need_auth(client: TestClient) -> None:
    for url in ("/api/reasons", "/api/reasons/examples", "/api/experiments",
                "/api/experiments/power?baseline=0.8&mde=0.05"):
        assert client.get(url).status_code == 401, url


def _login(app_client: TestClient, user: str) -> TestClient:
    c = TestClient(app_client.app)
    r = c.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    return c


def test_reasons_and_experiments_pages(client: TestClient, users: Users,
                                       reference: dict[str, pd.DataFrame]) -> None:
    c = _login(client, users.analyst)
    page = c.get("/reasons?by=region")
    assert page.status_code == 200 and 'id="reason-breakdown"' in page.text
    assert 'href="/reasons"' in page.text and 'href="/experiments"' in page.text  # in the nav
    fa = c.get("/reasons?lang=fa")
    assert 'dir="rtl"' in fa.text and "چرا مشتریان می‌روند" in fa.text
    exp = c.get("/experiments")
    assert exp.status_code == 200
    for cid in reference["periods"]["campaign_id"]:
        assert f'href="/experiments/{cid}"' in exp.text
    answer = c.get("/experiments/power?baseline=80%&mde=5", headers={"HX-Request": "true"})
    assert 'id="power-answer"' in answer.text and "906" in answer.text
    assert "<html" not in answer.text  # a fragment for HTMX
    wrong = c.get("/experiments/power?baseline=abc&mde=5")
    assert wrong.status_code == 422 and "is not a number" in wrong.text
    assert c.get("/experiments/CMP999").status_code == 404
    assert TestClient(client.app).get("/reasons", follow_redirects=False).status_code == 303


def test_plan_needs_an_offers_file_then_explains_what_it_could_not_value(
        client: TestClient, keys: dict[str, str], app_workspace: Path, users: Users) -> None:
    """The test shop's past campaigns are too small to learn most offers from: the plan
    must say so per offer, choose nobody it cannot value, and never spend past the budget."""
    offers = app_workspace / "offers.toml"
    offers.unlink(missing_ok=True)
    missing = client.get("/api/plan?budget=2000", headers=bearer(keys["alice"]))
    assert missing.status_code == 409 and "offers.toml" in missing.json()["error"]["message"]
    shutil.copy(Path(__file__).parents[2] / "examples" / "offers.toml", offers)
    r = client.get("/api/plan?budget=2000", headers=bearer(keys["alice"]))
    if r.status_code == 409:  # no offer at all could be learned: the reason is given
        assert "none of the offers can be valued" in r.json()["error"]["message"]
    else:
        body = r.json()
        assert body["committed"] <= 2000 and body["budget"] == 2000
        assert all(d["expected_profit"] > 0 and d["uplift"] > 0 for d in body["data"])
        assert len({d["customer_id"] for d in body["data"]}) == body["count"]
        assert any("too little campaign data" in n for n in body["notes"])
        bob = client.get("/api/plan?budget=2000", headers=bearer(keys["bob"])).json()
        assert {d["owner"] for d in bob["data"]} <= {OWNER}
        assert bob["expected_profit"] == body["expected_profit"]  # the company's plan
    c = _login(client, users.analyst)
    page = c.get("/plan")
    assert page.status_code == 200 and 'id="plan-form"' in page.text
    bad = c.get("/plan?budget=lots")
    assert bad.status_code == 422 and 'id="plan-error"' in bad.text
    offers.unlink()
    assert 'id="no-offers"' in c.get("/plan").text
