"""One simulated business shared by the simulate tests (generated once per session)."""

from __future__ import annotations

import pandas as pd
import pytest

from churnguard.simulate import SimulatedBusiness, generate

END = "2026-06-30"


@pytest.fixture(scope="session")
def biz() -> SimulatedBusiness:
    return generate(customers=30_000, months=36, seed=11, end=END)


@pytest.fixture(scope="session")
def frames(biz: SimulatedBusiness) -> dict[str, pd.DataFrame]:
    return {name: t.to_pandas() for name, t in biz.tables.items()}


@pytest.fixture(scope="session")
def truth(biz: SimulatedBusiness) -> dict[str, pd.DataFrame]:
    return {name: t.to_pandas() for name, t in biz.truth.items()}
