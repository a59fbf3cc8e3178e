"""Shape of a company-size simulation (one million customers, three years)."""

from __future__ import annotations

import pytest

from churnguard.contract import TABLES
from churnguard.simulate import generate


@pytest.mark.slow
def test_one_million_customers_over_36_months() -> None:
    biz = generate(customers=1_000_000, months=36, seed=7)
    rows = {name: t.num_rows for name, t in biz.tables.items()}
    assert set(rows) == set(TABLES)
    assert rows["customers"] == 1_000_000
    assert 20_000_000 < rows["interactions"] < 80_000_000
    assert rows["orders"] > 1_000_000 and rows["subscriptions"] > 500_000
    assert rows["tickets"] > 100_000 and rows["feedback"] > 100_000
    assert biz.truth["customers"].num_rows == 1_000_000
    ids = biz.tables["interactions"]["interaction_id"]
    assert ids[0].as_py() == "I000000001" and len(ids[-1].as_py()) == 10
