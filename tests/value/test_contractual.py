"""Contractual CLV: renewal periods from episodes, sBG per contract length, DERL x MRR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnguard.value.contractual import (
    GeometricRetention,
    contract_periods,
    contractual_clv,
    contractual_clv_frame,
    fit_cohorts,
    kaplan_meier_periods,
    retention_curves,
)
from churnguard.value.sbg import ShiftedBetaGeometric
from churnguard.warehouse import Workspace

from ._data import sbg_cohorts

UTC = "UTC"


def test_contract_periods_by_hand() -> None:
    t = lambda d: pd.Timestamp(d, tz=UTC)  # noqa: E731
    episodes = pd.DataFrame({
        "customer_id": ["m", "y", "y"], "episode": [1, 1, 2],
        "definition": "contractual",
        "start_at": [t("2024-01-01"), t("2020-01-01"), t("2023-06-01")],
        "churn_at": [t("2024-04-02"), t("2022-01-01"), pd.NaT],
        "churned": [True, True, False],
        "observed_until": t("2025-01-01"),
    })
    subs = pd.DataFrame({
        "customer_id": ["m", "y", "y"],
        "started_at": [t("2024-01-01"), t("2020-01-01"), t("2023-06-01")],
        "mrr": [10.0, 50.0, 80.0], "contract_months": [1, 12, 12],
    })
    out = contract_periods(episodes, subs).set_index(["customer_id", "episode"])
    # m: monthly, 92 days = 3.02 months -> lost at period 3 (renewed twice)
    assert out.loc[("m", 1), ["period_months", "periods", "recency", "T"]].tolist() == [
        1, 3, 3, 4]
    # y 1: annual, 2 years -> lost at period 2; y 2: open 19 months -> 1 period completed
    assert out.loc[("y", 1), ["period_months", "periods", "recency", "T"]].tolist() == [
        12, 2, 2, 3]
    assert out.loc[("y", 2), ["periods", "recency", "T", "mrr"]].tolist() == [1, 2, 2, 80.0]
    assert not out.loc[("y", 2), "churned"]


def test_published_cohort_through_periods_and_curve() -> None:
    # Fader & Hardie (2007) regular cohort in the per-customer form: sBG 0.704 / 1.182
    d = sbg_cohorts()
    reg = d[d["cohort"] == "regular"]
    periods = pd.DataFrame({"customer_id": reg["customer_id"], "episode": 1,
                            "period_months": 12, "mrr": 1.0, "churned": reg["recency"] < 8,
                            "periods": reg["recency"], "recency": reg["recency"],
                            "T": reg["T"]})
    fits = fit_cohorts(periods)
    assert isinstance(fits[12], ShiftedBetaGeometric)
    assert fits[12].params_["alpha"] == pytest.approx(0.704, abs=1e-3)
    assert fits[12].params_["beta"] == pytest.approx(1.182, abs=1e-3)
    curve = retention_curves(periods, fits)
    observed = curve["survival_observed"].to_numpy()[:8]
    np.testing.assert_allclose(observed, [1, .631, .468, .382, .326, .289, .262, .241])


def test_clv_is_margin_mrr_period_derl() -> None:
    # Fader & Hardie (2010): alpha 3.80, beta 15.20, 10 % a period: DERL 3.31 .. 3.84 for
    # n = 1 .. 5; a customer with 2 renewals done is the paper's n = 3 -> 3.59
    model = ShiftedBetaGeometric()
    model.params_ = {"alpha": 3.80, "beta": 15.20}
    periods = pd.DataFrame({"customer_id": ["z"], "episode": [1], "period_months": [12],
                            "mrr": [100.0], "churned": [False], "periods": [2],
                            "recency": [3], "T": [3]})
    out = contractual_clv_frame(periods, {12: model}, annual_discount_rate=0.10, margin=0.5)
    assert out.loc[0, "derl_periods"] == pytest.approx(3.59, abs=0.005)
    assert out.loc[0, "clv"] == pytest.approx(0.5 * 100 * 12 * out.loc[0, "derl_periods"])
    # churn within 12 months = one annual renewal missed: 1 - r_3
    assert out.loc[0, "churn_probability"] == pytest.approx(1 - (15.2 + 2) / (19.0 + 2))


def test_geometric_fallback_when_no_heterogeneity() -> None:
    rng = np.random.default_rng(4)
    life = rng.geometric(0.1, 3_000)  # one churn probability for everyone
    rec = np.minimum(life, 12)
    periods = pd.DataFrame({"customer_id": range(3_000), "episode": 1, "period_months": 1,
                            "mrr": 10.0, "churned": life < 12, "periods": rec,
                            "recency": rec, "T": np.where(life < 12, rec + 1, 12)})
    model = fit_cohorts(periods)[1]
    assert isinstance(model, (GeometricRetention, ShiftedBetaGeometric))
    s = np.asarray(model.survival(np.arange(6.0)))
    km = kaplan_meier_periods(periods["recency"].to_numpy(), periods["T"].to_numpy(), 5)
    np.testing.assert_allclose(s, km, atol=0.02)


def test_workspace_contractual_clv(sim_ws: Workspace) -> None:
    out = contractual_clv(sim_ws, as_of="2025-10-01")
    assert len(out) > 50 and out["customer_id"].is_unique
    assert out["churn_probability"].between(0, 1).all()
    assert (out["clv"] >= 0).all()
    assert set(out["model"]) <= {"sBG", "geometric"}
