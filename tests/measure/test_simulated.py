"""On the simulator's business: its known structure is recovered (R21, R5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.measure import compare, labels, survival
from churnguard.measure.rates import churn_rates
from churnguard.warehouse import Workspace

simulate = pytest.importorskip("churnguard.simulate")
load = pytest.importorskip("churnguard.simulate.load")


@pytest.mark.slow
def test_month_to_month_churns_more_than_annual(tmp_path: Path) -> None:
    load.simulate_into(tmp_path / "sim", customers=1500, months=18, seed=7)
    with Workspace.open(tmp_path / "sim", read_only=True) as ws:
        lab = labels(ws).to_pandas()
        customers = ws.warehouse.table("customers").select("customer_id", "contract_type")
        ever = (lab.groupby("customer_id").churned.any().reset_index()
                .merge(customers.to_pandas(), on="customer_id"))
        share = ever.groupby("contract_type").churned.mean()
        assert share["month-to-month"] > share["annual"]
        rates = churn_rates(ws, by="contract_type", period="quarter")
        done = rates[rates.complete & (rates.customers_start > 0)]
        mean_rate = done.groupby("contract_type").churn_rate.mean()
        assert mean_rate["month-to-month"] > mean_rate["annual"]
        # the books balance on a realistic business too
        assert (rates.customers_end == rates.customers_start + rates.new + rates.reactivated
                - rates.churned).all()
        # survival: annual customers outlive month-to-month ones, and the test says so
        res = survival(ws, by="contract_type")
        s = res.summary.set_index("segment")
        assert s.loc["annual", "survival_365d"] > s.loc["month-to-month", "survival_365d"]
        assert res.test.p_value.iloc[0] < 1e-6


@pytest.mark.slow
def test_complaints_are_among_the_top_differences(tmp_path: Path) -> None:
    # complaints are rare (a few per hundred customer-quarters): the signal needs ~20k
    # customers to stand clear of noise (at 3k it does not reach significance)
    load.simulate_into(tmp_path / "sim", customers=20_000, months=24, seed=11)
    with Workspace.open(tmp_path / "sim", read_only=True) as ws:
        df = compare(ws, window="90d")
    behaviours = df[~df.behaviour.str.startswith("last_product")].reset_index(drop=True)
    top = behaviours.head(5)
    found = top[top.behaviour.isin(["complaints", "had_complaint"])]
    assert not found.empty, behaviours[["behaviour", "standardized_effect", "q_value"]]
    assert (found.difference > 0).all() and (found.q_value < 0.05).all()
