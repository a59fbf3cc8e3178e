"""`churnguard simulate` and `python -m churnguard`, run the way a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from churnguard.warehouse import Workspace

EXE = [sys.executable, "-m", "churnguard"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=300)


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("churnguard ")


def test_simulate_fills_a_workspace_and_keeps_truth_apart(tmp_path: Path) -> None:
    ws_path = tmp_path / "shop2"
    out = run("simulate", str(ws_path), "--customers", "1500", "--months", "12", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "simulated 1,500 customers" in " ".join(out.stdout.split())
    with Workspace.open(ws_path, read_only=True) as ws:
        counts = {s.table: s.rows for s in ws.warehouse.status()}
        assert counts["customers"] == 1500
        assert all(counts[t] > 0 for t in ("orders", "subscriptions", "interactions", "tickets",
                                           "feedback"))
        tables = set(ws.warehouse.ibis.list_tables())
    # the truth lives in files beside the warehouse, never in it
    truth = pq.read_table(ws_path / "ground_truth" / "customers.parquet")
    assert truth.num_rows == 1500
    assert "true_reason" in truth.column_names
    assert not any("truth" in t or t.startswith("true_") for t in tables)

    status = run("status", str(ws_path))
    assert status.returncode == 0 and "interactions" in status.stdout

    again = run("simulate", str(ws_path), "--customers", "1500", "--months", "12")
    assert again.returncode == 2
    assert "--replace" in again.stderr and "Traceback" not in again.stderr

    replaced = run("simulate", str(ws_path), "--customers", "800", "--months", "12", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    with Workspace.open(ws_path, read_only=True) as ws:
        assert ws.warehouse.row_count("customers") == 800


def test_unknown_workspace_is_one_line_exit_2(tmp_path: Path) -> None:
    out = run("status", str(tmp_path / "nowhere"))
    assert out.returncode == 2
    assert "not a churnguard workspace" in out.stderr
    assert "Traceback" not in out.stderr
