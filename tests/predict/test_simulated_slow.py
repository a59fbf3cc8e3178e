"""On the simulator the model beats every baseline on AUC and top-decile lift at every
rolling origin (slow: several trainings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.predict.train import run_backtest
from churnguard.warehouse import Workspace


@pytest.mark.slow
def test_model_beats_every_baseline_at_every_origin(sim_root: Path) -> None:
    with Workspace.open(sim_root, read_only=True) as ws:
        bt = run_backtest(ws, horizon="90d", origins=3)
    t = bt.table
    assert t["origin"].nunique() == 3, bt.notes
    for origin, g in t.groupby("origin"):
        m = g.set_index("model")
        for base in m.index.drop("lightgbm"):
            for metric in ("auc", "lift_top_decile"):
                assert m.loc["lightgbm", metric] > m.loc[base, metric], (origin, base, metric)
