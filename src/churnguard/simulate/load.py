"""Write a simulated business into a workspace: contract tables into the warehouse, ground
truth into ``<workspace>/ground_truth/*.parquet`` (never read by the analytics)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from churnguard.contract import TABLES
from churnguard.errors import WorkspaceError
from churnguard.warehouse.workspace import Workspace


def simulate_into(
    path: str | Path,
    *,
    customers: int,
    months: int,
    seed: int,
    end: str = "2026-06-30",
    replace: bool = False,
) -> dict[str, int]:
    """Generate a business and load it; returns rows per table. Creates the workspace if new."""
    from churnguard.simulate import generate

    path = Path(path)
    ws = Workspace.open(path) if (path / "churnguard.toml").exists() else Workspace.init(path)
    with ws:
        wh = ws.warehouse
        wh.ensure_tables()
        if not replace:
            filled = [t for t in TABLES if wh.row_count(t)]
            if filled:
                raise WorkspaceError(
                    f"{path}: the workspace already holds data ({', '.join(filled)}); "
                    "pass --replace to overwrite it with a new simulation"
                )
        biz = generate(customers=customers, months=months, seed=seed, end=end)
        counts = {}
        # customers first: every other table refers to them
        for name in TABLES:
            counts[name] = wh.load_trusted(name, biz.tables[name], replace=replace,
                                            source=f"simulate seed={seed}")
        truth = ws.truth_dir
        if truth.exists():
            shutil.rmtree(truth)
        truth.mkdir(parents=True)
        for name, table in biz.truth.items():
            pq.write_table(table, truth / f"{name}.parquet")
        (truth / "README.txt").write_text(
            "Ground truth of a simulated business (seed, causes, true reasons, true treatment "
            "effects). For evaluation only: churnguard's analytics never read this folder.\n",
            encoding="utf-8",
        )
    return counts
