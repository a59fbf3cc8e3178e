"""Training end to end on small workspaces: register and activate, score with reasons and
history, refuse a model that does not beat the simple rule, fall back under 500 customers,
and train on a snapshot-only (telecom-like) customer table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnguard.predict.model import ChurnModel
from churnguard.predict.registry import ModelRegistry
from churnguard.predict.score import explain, score, score_history
from churnguard.predict.train import TrainResult, grade, run_backtest, train
from churnguard.simulate.load import simulate_into
from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import ingest_file

from .fixtures_predict import SCORE_AS_OF


def test_train_registers_and_activates(trained: tuple[Path, TrainResult]) -> None:
    root, r = trained
    assert r.kind == "lightgbm" and r.activated and r.grade in ("A", "B"), r.message
    reg = ModelRegistry(root)
    assert reg.active() == r.version
    meta = reg.load(r.version).meta
    assert meta["training"]["validation_origin"] < meta["training"]["data_to"]
    assert meta["calibrator"]["kind"] in ("isotonic", "platt")
    assert meta["metrics"]["summary"]["auc"] > 0.75
    models = set(r.backtest.table["model"]) if r.backtest is not None else set()
    assert {"lightgbm", "logistic", "rfm_rule", "best_rule", "bgnbd_expected_purchases"} <= models


def test_score_writes_reasons_value_and_history(trained: tuple[Path, TrainResult],
                                                tmp_path: Path) -> None:
    root, _ = trained
    out = tmp_path / "risk.parquet"
    with Workspace.open(root) as ws:
        before = len(score_history(ws))
        res = score(ws, as_of=SCORE_AS_OF, out=out, batch_size=700)
        hist = score_history(ws)
    df = pd.read_parquet(out)
    assert len(df) == res.customers > 500 and df["customer_id"].is_unique
    with Workspace.open(root, read_only=True) as ws:  # every batch, not just the first
        again = score(ws, as_of=SCORE_AS_OF, history=False, reasons="none", value=False)
    assert again.customers == res.customers
    assert df["churn_probability"].between(0, 1).all()
    assert set(df["risk_band"]) <= {"high", "medium", "low"}
    for lang in ("en", "zh", "fa"):
        assert df[f"reason_1_{lang}"].notna().mean() > 0.9
    fa = " ".join(df["reason_1_fa"].dropna().head(200))
    assert not any(ch.isascii() and ch.isdigit() for ch in fa)
    assert df["clv"].notna().any()
    ok = df["clv"].notna()
    np.testing.assert_allclose(df.loc[ok, "expected_loss"],
                               df.loc[ok, "churn_probability"] * df.loc[ok, "clv"])
    assert len(hist) == before + len(df)
    assert set(hist["model_version"]) >= {res.version}


def test_explain_one_customer(trained: tuple[Path, TrainResult]) -> None:
    root, _ = trained
    with Workspace.open(root, read_only=True) as ws:
        cid = ws.warehouse.table("customers").customer_id.min().to_pyarrow().as_py()
        e = explain(ws, cid, as_of=SCORE_AS_OF)
    assert 0 <= e["churn_probability"] <= 1 and e["groups"]
    if e["reason_1"] is not None:
        assert e["reason_1_zh"] and e["reason_1_fa"] and e["reason_1_en"]


def test_grade_thresholds() -> None:
    assert [grade(0.9, 0.7), grade(0.75, 0.7), grade(0.705, 0.7), grade(0.6, 0.7)] == [
        "A", "B", "C", "C"]


def test_refuses_to_activate_a_model_that_does_not_beat_the_rule(
        sim_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def noise(self: ChurnModel, X: object) -> np.ndarray:
        return np.random.default_rng(0).random(len(X))  # type: ignore[arg-type]

    monkeypatch.setattr(ChurnModel, "predict_proba", noise)
    with Workspace.open(sim_root) as ws:
        active_before = ModelRegistry(sim_root).active()
        r = train(ws, horizon="90d", origins=0)
    assert r.grade == "C" and not r.activated
    assert "Not activated" in r.message and "best simple rule" in r.message
    assert ModelRegistry(sim_root).active() == active_before


def test_falls_back_to_a_rule_under_500_customers(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    simulate_into(root, customers=300, months=24, seed=4)
    with Workspace.open(root) as ws:
        r = train(ws, horizon="90d")
        assert r.kind == "rule" and r.activated
        assert "fewer than 500" in r.message and "rule-based" in r.message
        s = score(ws, as_of=SCORE_AS_OF)
    assert s.frame is not None and len(s.frame) > 0
    p = s.frame["churn_probability"]
    assert p.between(0, 1).all()
    assert s.frame["reason_1"].notna().any()
    # the rule ranks customers: a spread of scores, not a few tied values
    assert p.nunique() > 0.8 * len(p) and p.std() > 0.05, p.describe()


# -- snapshot-only workspace (telecom-like export) ---------------------------------------

def telecom_csv(path: Path, n: int = 3000, seed: int = 5) -> None:
    """A telecom-like export: attributes and a churned yes/no column, no events. Churn
    depends on contract, tenure (non-linearly), fibre, payment method and charges."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    tenure = rng.integers(0, 73, n)
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.35, 0.45, 0.2])
    payment = rng.choice(["Electronic check", "Mailed check", "Bank transfer", "Credit card"], n)
    charges = np.round(20 + 30 * (internet != "No") + 25 * (internet == "Fiber optic")
                       + rng.normal(0, 8, n), 2)
    mtm, fiber = contract == "Month-to-month", internet == "Fiber optic"
    z = (-2.2 + 1.6 * mtm - 0.03 * tenure + 1.2 * (tenure < 6) + 0.8 * fiber
         + 0.7 * fiber * mtm + 0.6 * (payment == "Electronic check") + 0.015 * (charges - 60))
    churned = rng.random(n) < 1 / (1 + np.exp(-z))
    pd.DataFrame({"customer_id": [f"T{i:05d}" for i in range(n)], "tenure": tenure,
                  "Contract": contract, "InternetService": internet, "PaymentMethod": payment,
                  "MonthlyCharges": charges, "churned": np.where(churned, "Yes", "No")}
                 ).to_csv(path, index=False)


def test_snapshot_under_500_falls_back_to_segment_churn_rates(tmp_path: Path) -> None:
    """300 customers of a telecom export: too few for a model, and the recency rule reads
    nothing without events (it gave every customer the same score). The fallback ranks by
    the churn rates of each customer's segments, learnt from the 300, and is checked on
    3,000 other customers of the same generator."""
    from churnguard.predict.dataset import snapshot_examples, workspace_tables
    from churnguard.predict.metrics import auc
    from churnguard.predict.rules import segment_risk

    def load(name: str, n: int, seed: int) -> Path:
        root = tmp_path / name
        Workspace.init(root).close()
        telecom_csv(root / "customers.csv", n=n, seed=seed)
        with Workspace.open(root) as ws:
            ingest_file(ws, "customers", root / "customers.csv")
        return root

    small, other = load("small", 300, 5), load("other", 3000, 9)
    with Workspace.open(small) as ws:
        r = train(ws)
        s = score(ws)
    assert r.kind == "rule" and r.activated, r.message
    assert "fewer than 500" in r.message and "segments" in r.message
    weights = {t["name"]: t["weight"] for t in r.meta["params"]["segments"]["features"]}
    assert {"attr_contract", "attr_internetservice", "attr_tenure"} <= set(weights)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert s.frame is not None and len(s.frame) > 150
    p = s.frame["churn_probability"]
    assert p.between(0, 1).all() and p.nunique() > 20 and p.std() > 0.03, p.describe()
    assert s.frame["reason_1"].notna().mean() > 0.8
    assert "contract_ending" in set(s.frame["reason_1"].dropna())
    # out of sample: it ranks the 3,000 unseen customers well (a random score: 0.5)
    with Workspace.open(other, read_only=True) as ws:
        ex = snapshot_examples(workspace_tables(ws))
    risk, parts = segment_risk(ex.frame, r.meta["params"]["segments"])
    np.testing.assert_allclose(risk, r.meta["params"]["segments"]["base_rate"]
                               + parts.sum(axis=1))
    assert auc(ex.frame["churned"].to_numpy(), risk) > 0.72


@pytest.fixture(scope="module")
def telecom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("telecom") / "telco"
    Workspace.init(root).close()
    telecom_csv(root / "customers.csv")
    with Workspace.open(root) as ws:
        ingest_file(ws, "customers", root / "customers.csv")
    return root


def test_snapshot_workspace_trains_and_scores(telecom: Path) -> None:
    with Workspace.open(telecom) as ws:
        r = train(ws, origins=3)
        assert r.meta["mode"] == "snapshot" and r.kind == "lightgbm", r.message
        assert r.activated, r.message
        s = score(ws, as_of="2026-01-01")
    assert s.frame is not None and len(s.frame) > 1500  # the customers who have not churned
    high = s.frame[s.frame["risk_band"] == "high"]
    assert len(high) and high["reason_1_en"].notna().all()  # the risky always get a reason
    assert "attr_" not in " ".join(high["reason_1_en"])


def test_snapshot_model_matches_a_tuned_logistic_regression(telecom: Path) -> None:
    with Workspace.open(telecom, read_only=True) as ws:
        bt = run_backtest(ws, origins=5)
    assert bt.kind == "5-fold cross-validation"
    model, lr = bt.summary("lightgbm")["auc"], bt.summary("logistic")["auc"]
    assert model >= lr - 0.005, (model, lr)


def test_training_origins_stop_once_enough_rows(sim_root: Path) -> None:
    """Origins are stacked latest first until ``enough_rows``: a large workspace trains on
    one origin (one feature build), a small one on all of them."""
    from churnguard.measure.definitions import ChurnRules
    from churnguard.predict.dataset import (
        ExampleBuilder,
        data_range,
        end_of_data,
        workspace_tables,
    )
    from churnguard.predict.pipeline import fit_at

    with Workspace.open(sim_root, read_only=True) as ws:
        tables = workspace_tables(ws)
        rules = ChurnRules.from_config(ws.config.churn)
        rng = data_range(tables)
        b = ExampleBuilder(tables, rules=rules, horizon_days=90)
        end = end_of_data(rng)
        every = fit_at(b, end, rng.first_at, window_days=rules.inactive_days,
                       baselines=False)
        one = fit_at(b, end, rng.first_at, window_days=rules.inactive_days,
                     baselines=False, enough_rows=1)
    assert len(every.train_origins) == 4  # 2,500 customers: far from the default
    assert one.train_origins == every.train_origins[-1:]  # the latest origin only
    assert one.train_rows < every.train_rows / 3
    assert one.validation_origin == every.validation_origin
