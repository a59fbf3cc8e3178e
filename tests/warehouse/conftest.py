"""Small helpers for the ingestion tests: a workspace per test and files written in place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from churnguard.warehouse import Workspace
from churnguard.warehouse.config import CONFIG_FILE


def open_workspace(root: Path, toml: str = "") -> Workspace:
    """A fresh workspace in ``root`` with ``toml`` appended to its default config."""
    Workspace.init(root).close()
    if toml:
        cfg = root / CONFIG_FILE
        cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + toml, encoding="utf-8")
    return Workspace.open(root)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with open_workspace(tmp_path / "ws") as w:
        yield w


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, text_or_bytes, encoding="utf-8")`` -> path of the file in tmp_path."""
    folder = tmp_path / "files"
    folder.mkdir()

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = folder / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return _write


def _table_rows(ws: Workspace, table: str) -> list[tuple]:
    cols = [c for c in ws.warehouse.table(table).columns if c != "_ingested_at"]
    sql = ", ".join(f'"{c}"' for c in cols)
    return ws.warehouse.duck.execute(f'SELECT {sql} FROM "{table}" ORDER BY 1').fetchall()


@pytest.fixture
def table_rows() -> Callable[[Workspace, str], list[tuple]]:
    """``table_rows(ws, table)``: every row without the ingest timestamp, in key order."""
    return _table_rows
