"""Workspaces shared by the value tests: the CDNOW 1/10 sample and a small simulation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from churnguard.datasets import load_cdnow
from churnguard.simulate.load import simulate_into
from churnguard.warehouse import Workspace

from ._data import shared_data


@pytest.fixture(scope="session")
def cdnow_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    data = shared_data()
    root = tmp_path_factory.mktemp("cdnow") / "ws"
    with Workspace.init(root) as ws:
        load_cdnow(ws, data, sample=True)
    with Workspace.open(root, read_only=True) as ws:
        yield ws


@pytest.fixture(scope="session")
def sim_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "shop"
    simulate_into(root, customers=800, months=24, seed=11, end="2025-12-31")
    return root


@pytest.fixture()
def sim_ws(sim_path: Path) -> Iterator[Workspace]:
    with Workspace.open(sim_path, read_only=True) as ws:
        yield ws
