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


def test_breakdown_by_a_custom_attribute_and_a_typo(app: typer.Typer, make_ws: MakeWs,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom attribute breaks churn down under either name (the table used to fail on
    the dotted one); a misspelt one is an error, not one "(missing)" group."""
    import churnguard.cli_measure as cm

    monkeypatch.setattr(cm, "console", Console(width=200))
    ws = make_ws("attr", customers="""
        customer_id,signup_at,tier
        A,2024-01-01,gold
        B,2024-02-01,silver
        """, orders="""
        order_id,customer_id,ordered_at,amount
        o1,A,2024-01-10,5
        o2,B,2024-02-10,5
        """)
    ws.close()
    runner = CliRunner()
    for by in ("tier", "attributes.tier"):
        res = runner.invoke(app, ["measure", str(ws.root), "--as-of", "2024-07-01",
                                  "--by", by], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "gold" in res.output and "silver" in res.output
        assert "(missing)" not in res.output
    for typo in ("tierr", "attributes.teir"):
        res = runner.invoke(app, ["measure", str(ws.root), "--by", typo])
        assert isinstance(res.exception, InputError)
        assert f"cannot break churn down by {typo!r}" in str(res.exception)


def test_revenue_cohorts_survival_compare_history_commands(
        app: typer.Typer, make_ws: MakeWs, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import churnguard.cli_measure as cm

    from ._data import (
        COMPARE_AS_OF,
        COMPARE_CUSTOMERS,
        COMPARE_INTERACTIONS,
        COMPARE_ORDERS,
        COMPARE_SUBSCRIPTIONS,
        COMPARE_TICKETS,
    )

    monkeypatch.setattr(cm, "console", Console(width=200))
    ws = make_ws("cmp", customers=COMPARE_CUSTOMERS, subscriptions=COMPARE_SUBSCRIPTIONS,
                 orders=COMPARE_ORDERS, interactions=COMPARE_INTERACTIONS,
                 tickets=COMPARE_TICKETS)
    ws.close()
    root, asof = str(ws.root), ["--as-of", COMPARE_AS_OF]
    runs = [
        (["measure", root, "--revenue", *asof], "NRR", "m.png"),
        (["cohorts", root, *asof], "2024-01-01", "c.png"),
        (["cohorts", root, "--value", "revenue_retention", *asof], "months since", "c.html"),
        (["survival", root, "--by", "contract_type", *asof], "log-rank", "s.png"),
        (["survival", root, *asof], "median", "s.html"),
        (["compare", root, "--window", "90d", *asof], "had_complaint", "k.csv"),
        (["compare", root, "--window", "90d", *asof], "Cohen", "k.png"),
        (["history", root, "--churned-in", "2024-Q2", *asof], "competitor", "h.parquet"),
        (["history", root, "--churned-in", "2024-Q2", *asof], "K1", "h.png"),
    ]
    runner = CliRunner()
    for args, needle, out in runs:
        res = runner.invoke(app, [*args, "--out", str(tmp_path / out)], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert needle in res.output, (args, res.output)
        assert (tmp_path / out).stat().st_size > 0
    assert (tmp_path / "c.html").read_text(encoding="utf-8").count("plotly") > 1
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_parquet(tmp_path / "h.parquet")) == 2
    res = runner.invoke(app, ["cohorts", root, "--value", "nope"])
    assert isinstance(res.exception, InputError)
