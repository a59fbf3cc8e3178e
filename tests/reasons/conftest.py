"""Simulated feedback (with the true reason of every text) and a small simulated workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churnguard.simulate import generate
from churnguard.simulate.load import simulate_into


@pytest.fixture(scope="session")
def sim_feedback() -> pd.DataFrame:
    """Feedback texts of a simulated business joined with the truth (``text_pool``)."""
    biz = generate(customers=20_000, months=24, seed=11)
    fb = biz.tables["feedback"].to_pandas()
    truth = biz.truth["feedback"].to_pandas()[["feedback_id", "text_pool", "true_sub_reason"]]
    return fb.merge(truth, on="feedback_id")


@pytest.fixture(scope="session")
def sim_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed simulated workspace (3,000 customers, 24 months) with its ground truth."""
    root = tmp_path_factory.mktemp("reasons") / "shop"
    simulate_into(root, customers=3_000, months=24, seed=5)
    return root
