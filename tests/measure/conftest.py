"""Hand-made workspaces for the measure tests: CSV text in the test, ingested for real."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import ingest_file

TABLE_ORDER = ("customers", "subscriptions", "orders", "interactions", "tickets")
MakeWs = Callable[..., Workspace]


@pytest.fixture
def make_ws(tmp_path: Path) -> MakeWs:
    """``make_ws(customers=csv, orders=csv, ..., churn_toml="...")`` -> an open workspace."""
    opened: list[Workspace] = []

    def make(name: str = "shop", churn_toml: str = "", **tables: str) -> Workspace:
        root = tmp_path / name
        Workspace.init(root).close()
        if churn_toml:
            cfg = root / "churnguard.toml"
            text = cfg.read_text(encoding="utf-8")
            start = text.index("[churn]")
            end = text.index("# Map your files")
            cfg.write_text(text[:start] + "[churn]\n" + dedent(churn_toml) + "\n" + text[end:],
                           encoding="utf-8")
        ws = Workspace.open(root)
        opened.append(ws)
        for table in TABLE_ORDER:
            if table in tables:
                path = root / f"{table}.csv"
                path.write_text(dedent(tables[table]).strip() + "\n", encoding="utf-8")
                ingest_file(ws, table, path)
        return ws

    yield make  # type: ignore[misc]
    for ws in opened:
        ws.close()


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``spark`` marker (tests that start a local PySpark session)."""
    config.addinivalue_line(
        "markers", "spark: runs the measure functions on a local PySpark session (slow start)")
