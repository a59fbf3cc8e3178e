"""The model on synthetic data: calibration, metrics, and the registry (save -> load ->
same predictions; tampered file and feature mismatch -> clear errors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnguard.predict.calibration import Calibrator, choose_calibrator
from churnguard.predict.features.registry import Feature
from churnguard.predict.metrics import auc, brier, calibration_table, top_decile
from churnguard.predict.model import ChurnModel
from churnguard.predict.registry import ModelRegistry, ModelRegistryError
from churnguard.predict.rules import rule_risk

REG = {
    "days_since_last_activity": Feature("days_since_last_activity", "d", "days", "float64",
                                        "inactivity", "derived"),
    "complaints_30d": Feature("complaints_30d", "c", "complaints", "int64", "complaints",
                              "tickets", fill=0),
    "plan": Feature("plan", "p", "category", "string", "profile", "customers"),
}


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = rng.exponential(60, n)
    days[rng.random(n) < 0.05] = np.nan
    comp = rng.poisson(0.3, n)
    plan = rng.choice(["basic", "pro", "team"], n)
    z = -3 + np.nan_to_num(days, nan=200) / 60 + 0.8 * comp + (plan == "basic") * 0.7
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "days_since_last_activity": days, "complaints_30d": comp,
                         "plan": plan}), y


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnModel, pd.DataFrame, np.ndarray]:
    X, y = synthetic(6000, 1)
    m = ChurnModel().fit(X[:3000], y[:3000], X[3000:4500], y[3000:4500], registry=REG)
    return m, X[4500:], y[4500:]


def test_calibration_improves_brier(fitted: tuple[ChurnModel, pd.DataFrame, np.ndarray]) -> None:
    m, X, y = fitted
    assert m.calibrator_.kind in ("isotonic", "platt")
    assert brier(y, m.predict_proba(X)) < brier(y, m.raw_proba(X))
    assert auc(y, m.predict_proba(X)) > 0.75


def test_choose_calibrator_picks_the_better_kind() -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(4000)
    y = (rng.random(4000) < raw ** 3).astype(int)  # raw is badly over-confident
    cal, s = choose_calibrator(raw, y)
    assert s[cal.kind] == min(s["platt"], s["isotonic"]) and s[cal.kind] < s["raw"]
    assert Calibrator.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal


def test_metrics_against_hand_values() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 0])
    s = np.array([0.1, 0.2, 0.9, 0.3, 0.4, 0.8, 0.0, 0.1, 0.2, 0.3])
    assert auc(y, s) == pytest.approx(19.5 / 21)
    assert top_decile(y, s) == (pytest.approx(1 / 0.3), pytest.approx(1 / 3))
    cal = calibration_table(y, s, bins=2)
    assert cal["customers"].tolist() == [5, 5]


def _save(root: Path, m: ChurnModel) -> ModelRegistry:
    reg = ModelRegistry(root)
    meta = {"kind": "lightgbm", "mode": "events", "horizon_days": 90,
            "features": [{"name": n, "dtype": f.dtype, "kind": f.kind, "group": f.group}
                         for n, f in REG.items()],
            "risk_bands": {"high": 0.5, "medium": 0.2}, "metrics": {}}
    reg.activate(reg.save(meta, m))
    return reg


def test_registry_round_trip(tmp_path: Path,
                             fitted: tuple[ChurnModel, pd.DataFrame, np.ndarray]) -> None:
    m, X, _ = fitted
    reg = _save(tmp_path, m)
    assert reg.versions() == ["v1"] and reg.active() == "v1"
    loaded = reg.load()
    assert loaded.model is not None
    np.testing.assert_allclose(loaded.model.predict_proba(X), m.predict_proba(X), rtol=1e-12)
    files = sorted(p.name for p in (tmp_path / "models" / "v1").iterdir())
    assert files == ["model.json", "model.txt"]  # data only, no pickle
    meta = json.loads((tmp_path / "models" / "v1" / "model.json").read_text("utf-8"))
    assert {"content_hash", "libraries", "calibrator", "encoder", "params"} <= set(meta)


def test_tampered_model_is_refused(tmp_path: Path,
                                   fitted: tuple[ChurnModel, pd.DataFrame, np.ndarray]) -> None:
    reg = _save(tmp_path, fitted[0])
    path = tmp_path / "models" / "v1" / "model.json"
    meta = json.loads(path.read_text("utf-8"))
    meta["risk_bands"]["high"] = 0.99
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelRegistryError, match="content hash mismatch"):
        reg.load()
    txt = tmp_path / "models" / "v1" / "model.txt"
    reg2 = _save(tmp_path / "b", fitted[0])
    txt = tmp_path / "b" / "models" / "v1" / "model.txt"
    txt.write_text(txt.read_text("utf-8").replace("leaf_value=", "leaf_value=1", 1), "utf-8")
    with pytest.raises(ModelRegistryError, match="content hash mismatch"):
        reg2.load()


def test_feature_mismatch_is_refused(tmp_path: Path,
                                     fitted: tuple[ChurnModel, pd.DataFrame, np.ndarray]) -> None:
    loaded = _save(tmp_path, fitted[0]).load()
    loaded.check_schema(REG)
    changed = {**REG, "plan": Feature("plan", "p", "x", "float64", "profile", "customers")}
    with pytest.raises(ModelRegistryError, match=r"changed type: plan \(string -> float64\)"):
        loaded.check_schema(changed)
    with pytest.raises(ModelRegistryError, match=r"missing feature.*complaints_30d.*retrain"):
        loaded.check_schema({k: v for k, v in REG.items() if k != "complaints_30d"})


def test_no_active_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelRegistryError, match=r"no active model.*churnguard train"):
        ModelRegistry(tmp_path).load()


def test_rule_risk_parts_sum_to_the_score() -> None:
    X, _ = synthetic(200, 2)
    risk, parts = rule_risk(X, 180)
    np.testing.assert_allclose(parts.sum(axis=1), risk)
    assert ((risk >= 0) & (risk <= 1)).all()


def test_rule_risk_ranks_by_recency_and_frequency_drop() -> None:
    """Each part raises the score continuously: longer silence (also beyond the window),
    a steeper drop in orders or engagement, unresolved complaints, a newer customer."""
    days = np.array([0, 30, 90, 180, 365, 720.0])
    base = {"days_since_last_activity": days, "unresolved_complaints": np.zeros(6),
            "orders_trend_90d": np.zeros(6), "interactions_trend_90d": np.zeros(6),
            "tenure_days": np.full(6, 1000.0)}
    r = rule_risk(pd.DataFrame(base), 180)[0]
    assert (np.diff(r) > 0).all() and r[4] > r[3]  # no cap at the window
    assert r[2] == pytest.approx(0.45 * 0.5 + 0.15 * 2 ** (-1000 / 365))  # half-way at W/2
    drop = rule_risk(pd.DataFrame(base | {"orders_trend_90d": np.linspace(0, -1, 6),
                                          "days_since_last_activity": np.full(6, 30.0)}),
                     180)[0]
    assert (np.diff(drop) > 0).all()
    assert rule_risk(pd.DataFrame(base | {"tenure_days": np.full(6, 10.0)}), 180)[0][0] > r[0]
