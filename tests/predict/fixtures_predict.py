"""Shared fixtures of the predict tests: a small simulated workspace, trained once.

Registered in ``conftest.py`` (session scope): a test module must not import them itself,
or pytest would make a second, module-local copy and simulate and train again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from churnguard.predict.train import TrainResult, train
from churnguard.simulate.load import simulate_into
from churnguard.warehouse import Workspace

SIM_CUSTOMERS = 2500
SIM_END = "2026-06-30"
SCORE_AS_OF = "2026-07-01"


@pytest.fixture(scope="session")
def sim_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated workspace of 2,500 customers over 30 months (not trained)."""
    root = tmp_path_factory.mktemp("predict_sim") / "shop"
    simulate_into(root, customers=SIM_CUSTOMERS, months=30, seed=3, end=SIM_END)
    return root


@pytest.fixture(scope="session")
def trained(sim_root: Path) -> Iterator[tuple[Path, TrainResult]]:
    """``sim_root`` with model v1 trained (one backtest origin) and active."""
    with Workspace.open(sim_root) as ws:
        result = train(ws, horizon="90d", origins=1)
    yield sim_root, result
