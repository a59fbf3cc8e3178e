"""``churnguard measure`` through a Typer app that registers the measure commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from churnguard.cli_measure import register
from churnguard.errors import InputError

from ._data import SAAS_CUSTOMERS, SAAS_SUBSCRIPTIONS
from .conftest import MakeWs


@pytest.fixture
def app() -> typer.Typer:
    a = typer.Typer()
    a.callback()(lambda: None)  # a group, so the command is called by name
    register(a)
    return a


def test_measure_prints_a_table_and_writes_files(app: typer.Typer, make_ws: MakeWs,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import churnguard.cli_measure as cm

    monkeypatch.setattr(cm, "console", Console(width=200))
    ws = make_ws("saas", customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    ws.close()  # the command opens the warehouse read-only
    runner = CliRunner()
    for out in ("r.csv", "r.parquet", "r.html"):
        res = runner.invoke(app, ["measure", str(ws.root), "--as-of", "2024-07-01",
                                  "--by", "plan", "--out", str(tmp_path / out)],
                            catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "basic" in res.output and "2024-06-01" in res.output
        assert (tmp_path / out).stat().st_size > 0
    df = pd.read_parquet(tmp_path / "r.parquet")
    assert set(df.plan) == {"basic", "pro"}
    assert pd.read_csv(tmp_path / "r.csv").shape == df.shape


def test_measure_errors_are_churnguard_errors(app: typer.Typer, make_ws: MakeWs,
                                               tmp_path: Path) -> None:
    ws = make_ws("saas", customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    ws.close()
    runner = CliRunner()
    res = runner.invoke(app, ["measure", str(ws.root), "--period", "fortnight"])
    assert isinstance(res.exception, InputError)
    res = runner.invoke(app, ["measure", str(ws.root), "--out", str(tmp_path / "r.xlsx")])
    assert isinstance(res.exception, InputError)
