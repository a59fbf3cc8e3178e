"""On the simulator's business: month-to-month customers churn more than annual ones (R21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.measure import labels
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
