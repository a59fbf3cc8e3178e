"""Reasons of a simulated workspace: train, mentions, shares against the truth, the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from churnguard import reasons as R
from churnguard.cli_reasons import register
from churnguard.errors import InputError
from churnguard.warehouse import Workspace


@pytest.fixture(scope="module")
def trained(sim_ws: Path) -> Path:
    with Workspace.open(sim_ws) as ws:
        result = R.train(ws)
    assert result.path is not None and result.path.exists()
    assert set(result.evaluation["language"]) >= {"en", "zh", "fa", "all"}
    return sim_ws


def test_reason_shares_match_the_truth(trained: Path) -> None:
    with Workspace.open(trained, read_only=True) as ws:
        model = R.load_model(ws)
        mentions = R.reason_mentions(ws, model)
        per = R.churn_reasons(mentions)
        seg = R.with_segment(per, ws, "region")
        truth = pd.read_parquet(ws.truth_dir / "churn_events.parquet")
    assert set(mentions["method"]) == {"structured", "model"}
    assert per.groupby(["customer_id", "month"]).size().max() == 1
    known = per[per["reason"] != R.UNKNOWN]
    ours = known["reason"].value_counts(normalize=True)
    true = truth["true_reason"].value_counts(normalize=True)
    for reason in ("service_failure", "price", "migration", "competitor"):
        assert abs(ours[reason] - true[reason]) < 0.08, (reason, ours.to_dict(), true.to_dict())
    by_month = R.reason_shares(per, by="month")
    assert by_month.groupby("month")["share"].sum().round(9).eq(1).all()
    by_region = R.reason_shares(seg, by="region")
    assert by_region["region"].nunique() > 2
    breakdown = R.taxonomy_breakdown(per)
    assert breakdown["share"].sum() == pytest.approx(1)
    assert len(R.examples(mentions)) >= 5


def test_cli_reasons_train_show_and_classify(trained: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import churnguard.cli_reasons as cr

    monkeypatch.setattr(cr, "console", Console(width=200))
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["reasons", str(trained), "--by", "plan", "--out",
                              str(tmp_path / "r.parquet")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Why customers leave" in res.output and "Reason shares by plan" in res.output
    assert len(pd.read_parquet(tmp_path / "r.parquet")) > 10
    src = tmp_path / "texts.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["价格太贵了", "ok", "ما به شهر دیگری نقل مکان کردیم"]
                  }).to_csv(src, index=False)
    res = runner.invoke(app, ["reasons", str(trained), "--classify", str(src), "--out",
                              str(tmp_path / "l.csv")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "l.csv")
    assert out.columns.tolist() == ["id", "text", "sub_reason", "reason", "confidence"]
    assert out["sub_reason"].iloc[0] == "price"
    with pytest.raises(InputError, match="no `text` column"):
        pd.DataFrame({"x": [1]}).to_csv(src, index=False)
        runner.invoke(app, ["reasons", str(trained), "--classify", str(src), "--out",
                            str(tmp_path / "l.csv")], catch_exceptions=False)
    with pytest.raises(InputError, match="unknown output format"):
        runner.invoke(app, ["reasons", str(trained), "--out", "x.txt"], catch_exceptions=False)


@pytest.mark.slow
def test_cli_train(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import churnguard.cli_reasons as cr

    monkeypatch.setattr(cr, "console", Console(width=200))
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    res = CliRunner().invoke(app, ["reasons", str(trained), "--train"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "hold-out by customer" in res.output and "saved" in res.output
