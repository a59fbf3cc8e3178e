"""Fast batch reasons: path attribution (Saabas) against LightGBM's own numbers and against
TreeSHAP, and the column-wise sentences against the per-customer reference function."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churnguard.predict.attribution import PathAttribution
from churnguard.predict.dataset import workspace_tables
from churnguard.predict.features import build_features, feature_registry
from churnguard.predict.features.registry import Feature
from churnguard.predict.reasons import (
    ReasonPlan,
    reason_columns,
    reason_sentence,
    sentence_columns,
    top_reasons,
)
from churnguard.predict.registry import ModelRegistry
from churnguard.predict.score import BatchScorer, score
from churnguard.predict.train import TrainResult
from churnguard.warehouse import Workspace

from .fixtures_predict import SCORE_AS_OF


def _booster(seed: int = 0) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 4))
    X[rng.random(3000) < 0.1, 1] = np.nan
    X[:, 3] = rng.integers(0, 5, 3000)  # a categorical column
    z = X[:, 0] + np.nan_to_num(X[:, 1]) * X[:, 2] + (X[:, 3] == 2) - 0.5
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * z))).astype(int)
    b = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 1},
                  lgb.Dataset(X, y, categorical_feature=[3]), num_boost_round=60)
    return b, X


def test_path_contributions_add_up_to_lightgbms_raw_score() -> None:
    b, X = _booster()
    paths = PathAttribution(b, 40)  # the best iteration, not every tree
    leaves = paths.leaves(X[:500])
    c = paths.contributions(leaves)
    raw = b.predict(X[:500], num_iteration=40, raw_score=True)
    np.testing.assert_allclose(c.sum(axis=1) + paths.bias, raw, atol=1e-9)
    np.testing.assert_allclose(paths.raw_score(leaves), raw, atol=1e-9)
    # the same base value as TreeSHAP: the data-weighted expected raw score
    shap = b.predict(X[:500], num_iteration=40, pred_contrib=True)
    np.testing.assert_allclose(shap[:, -1], paths.bias, atol=1e-9)
    assert paths.sigmoid_output


def test_path_contributions_by_hand_on_a_stump() -> None:
    """One split on x0 at 0: 30 rows left (all 0), 70 right (all 1). E(root) is the
    count-weighted mean of the two leaves; a row's x0 credit is its leaf minus E(root)."""
    X = np.r_[np.full(30, -1.0), np.full(70, 1.0)][:, None]
    y = np.r_[np.zeros(30), np.ones(70)]
    b = lgb.train({"objective": "binary", "num_leaves": 2, "min_data_in_leaf": 5,
                   "verbose": -1, "learning_rate": 0.5}, lgb.Dataset(X, y),
                  num_boost_round=1)
    tree = b.dump_model()["tree_info"][0]["tree_structure"]
    left, right = tree["left_child"]["leaf_value"], tree["right_child"]["leaf_value"]
    expected_root = (30 * left + 70 * right) / 100
    paths = PathAttribution(b, 1)
    c = paths.contributions(paths.leaves(np.array([[-1.0], [1.0]])))
    np.testing.assert_allclose(c[:, 0], [left - expected_root, right - expected_root])
    assert paths.bias == pytest.approx(expected_root)


@pytest.fixture(scope="module")
def scored(trained: tuple[Path, TrainResult]) -> tuple[BatchScorer, pd.DataFrame, dict]:
    root, _ = trained
    with Workspace.open(root, read_only=True) as ws:
        tables = workspace_tables(ws)
        reg = feature_registry(tables)
        frame = build_features(tables, SCORE_AS_OF).to_pandas()
    return BatchScorer(ModelRegistry(root).load(), reg), frame, reg


def test_top_reasons_agree_with_treeshap_on_most_customers(scored: tuple) -> None:
    scorer, frame, reg = scored
    model = scorer.saved.model
    X = model.matrix(frame)
    path = scorer.paths.contributions(scorer.paths.leaves(X))
    shap = model.contributions(X)
    feats = model.encoder_.features
    a, b = top_reasons(path, feats, reg), top_reasons(shap, feats, reg)
    first = np.mean([bool(x and y and x[0][0] == y[0][0])
                     for x, y in zip(a, b, strict=True) if x or y])
    in_top3 = np.mean([y[0][0] in {r[0] for r in x} for x, y in zip(a, b, strict=True) if y])
    assert first > 0.8, first
    assert in_top3 > 0.95, in_top3


def test_batch_scoring_matches_the_per_customer_path(scored: tuple) -> None:
    """Probabilities from the leaves equal predict_proba; reasons and all nine sentences
    equal the per-customer reference (top_reasons + reason_sentence), from Arrow input."""
    scorer, frame, reg = scored
    model = scorer.saved.model
    out = scorer.score(pa.Table.from_pandas(frame, preserve_index=False)).to_pandas()
    X = model.matrix(frame)
    np.testing.assert_allclose(out["churn_probability"], model.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(model.matrix(pa.Table.from_pandas(frame)), X)
    rs = top_reasons(scorer.paths.contributions(scorer.paths.leaves(X)),
                     model.encoder_.features, reg)
    rows = frame.to_dict("records")
    for r in rows:
        r["_horizon_days"] = scorer.meta["horizon_days"]
    ref = reason_columns(rs, rows)
    for name, values in ref.items():
        got = [None if pd.isna(v) else v for v in out[name]]
        assert got == values, name
    at_risk = scorer.score(frame, reasons="at_risk").to_pandas()
    low = at_risk["risk_band"] == "low"
    assert at_risk.loc[low, "reason_1"].isna().all()
    assert (at_risk.loc[~low, "reason_1_en"].astype(object)
            == out.loc[~low, "reason_1_en"].astype(object)).all()


def test_sentences_match_the_reference_on_random_customers() -> None:
    """Every reason code, custom attributes, BG/NBD, missing values and text values."""
    groups = {"inactivity": ["days_since_last_activity"],
              "falling purchases": ["orders_90d", "orders_prev_90d", "days_since_last_order",
                                    "bgnbd_expected_purchases"],
              "engagement drop": ["interactions_90d", "interactions_prev_90d"],
              "no contact": ["days_since_last_contact"],
              "unanswered request": ["open_requests", "days_oldest_open_request"],
              "complaints": ["complaints_30d", "unresolved_complaints"],
              "satisfaction": ["nps_last", "nps_change", "csat_last"],
              "price": ["mrr", "mrr_change_90d"],
              "plan change": ["downgrades_365d", "plan_changes_365d"],
              "contract ending": ["contract_type", "months_to_renewal"],
              "tenure": ["tenure_days"], "loyalty": ["loyalty_tier", "loyalty_points"],
              "acquisition": ["acquisition_channel", "first_offer"],
              "profile": ["region", "attr_seats"], "custom": ["attr_score", "attr_kind"]}
    text = {"contract_type", "loyalty_tier", "acquisition_channel", "first_offer", "region",
            "attr_kind"}
    reg = {f: Feature(f, "x", "x", "string" if f in text else "float64", g, "x")
           for g, fs in groups.items() for f in fs}
    feats = list(reg)
    rng = np.random.default_rng(3)
    n = 4000
    frame = {}
    for f in feats:
        if f in text:
            v = rng.choice(np.array(["a", "b", "Month-to-month", None], dtype=object), n)
        else:
            scale = 10.0 ** rng.integers(0, 4, n)  # 0 to 3 decimals, and rounding edges
            v = np.round(rng.exponential(20, n) * scale) / scale * rng.choice(
                [1, -1, 0], n, p=[0.7, 0.2, 0.1])
            v[rng.random(n) < 0.05] = rng.choice([2.675, 21.65, 0.005, 0.049, 1.25], 1)
            v[rng.random(n) < 0.15] = np.nan
        frame[f] = v
    plan = ReasonPlan.of(feats, reg)
    contrib = rng.normal(size=(n, len(feats)))
    grp, _, top = plan.top(contrib @ plan.matrix())
    got = sentence_columns(grp, top, plan, lambda name: frame.get(
        name, np.full(n, None, dtype=object)), horizon_days=60)
    ref = top_reasons(contrib, feats, reg)
    for i in range(n):
        row = {f: frame[f][i] for f in feats} | {"_horizon_days": 60}
        for k in range(3):
            if k < len(ref[i]):
                code, _, feat = ref[i][k]
                assert got[f"reason_{k + 1}"][i].as_py() == code
                for lang in ("en", "zh", "fa"):
                    assert got[f"reason_{k + 1}_{lang}"][i].as_py() == reason_sentence(
                        code, row, lang, feat), (i, k, code, feat, lang)
            else:
                assert got[f"reason_{k + 1}_en"][i].as_py() is None


def test_score_files_hold_plain_text_columns(trained: tuple[Path, TrainResult],
                                             tmp_path: Path) -> None:
    root, _ = trained
    with Workspace.open(root, read_only=True) as ws:
        for name in ("risk.parquet", "risk.csv"):
            score(ws, as_of=SCORE_AS_OF, out=tmp_path / name, history=False, value=False,
                  batch_size=600)
    pq_df = pd.read_parquet(tmp_path / "risk.parquet")
    csv_df = pd.read_csv(tmp_path / "risk.csv")
    assert not isinstance(pq_df["reason_1_en"].dtype, pd.CategoricalDtype)
    assert list(pq_df.columns) == list(csv_df.columns)
    assert pq_df["customer_id"].is_unique and len(pq_df) == len(csv_df)
    both = pq_df.merge(csv_df, on="customer_id", suffixes=("", "_csv"))
    assert (both["reason_1_zh"].fillna("") == both["reason_1_zh_csv"].fillna("")).all()
    np.testing.assert_allclose(both["churn_probability"], both["churn_probability_csv"])
