"""CDNOW loads with the published counts, through the validated ingest path, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.datasets import load_cdnow, read_cdnow, shared_data_dir
from churnguard.errors import InputError
from churnguard.warehouse import Workspace

try:
    HAVE_DATA = (shared_data_dir() / "cdnow" / "CDNOW_master.txt").is_file()
except InputError:
    HAVE_DATA = False

needs_data = pytest.mark.skipif(not HAVE_DATA, reason="shared CDNOW data not found")


def _counts(ws: Workspace) -> tuple[int, int]:
    return ws.warehouse.row_count("customers"), ws.warehouse.row_count("orders")


@needs_data
def test_sample_counts_and_rerun_changes_nothing(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        customers, orders = load_cdnow(ws, sample=True)
        assert (customers.inserted, orders.inserted) == (2_357, 6_919)
        assert (customers.rejected, orders.rejected) == (0, 0)
        assert _counts(ws) == (2_357, 6_919)
        again = load_cdnow(ws, sample=True)
        assert [(r.inserted, r.updated, r.unchanged) for r in again] == [
            (0, 0, 2_357),
            (0, 0, 6_919),
        ]
        assert _counts(ws) == (2_357, 6_919)
        first, last = ws.warehouse.duck.execute(
            "SELECT min(ordered_at), max(ordered_at) FROM orders"
        ).fetchone()
    assert (first.year, first.month, first.day) == (1997, 1, 1)
    assert (last.year, last.month) == (1998, 6)


@needs_data
def test_master_counts(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        customers, orders = load_cdnow(ws)
        assert (customers.inserted, orders.inserted) == (23_570, 69_659)
        assert _counts(ws) == (23_570, 69_659)
        again = load_cdnow(ws)
        assert [r.unchanged for r in again] == [23_570, 69_659]
        assert [r.inserted + r.updated for r in again] == [0, 0]
        # every customer signed up on their first order, in the first quarter of 1997
        bad = ws.warehouse.duck.execute("""
            SELECT count(*) FROM customers c JOIN (
                SELECT customer_id, min(ordered_at) AS first FROM orders GROUP BY 1) o
            USING (customer_id) WHERE c.signup_at <> o.first OR c.signup_at >= '1997-04-01'
        """).fetchone()[0]
        assert bad == 0


@needs_data
def test_read_cdnow_shapes() -> None:
    t = read_cdnow(sample=True)
    assert t.customers.num_rows == 2_357 and t.orders.num_rows == 6_919
    ids = t.orders.column("order_id").to_pylist()
    assert len(set(ids)) == len(ids)


def test_missing_data_dir_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="CDNOW dataset folder"):
        read_cdnow(tmp_path)
