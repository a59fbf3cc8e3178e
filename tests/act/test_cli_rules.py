"""``churnguard rules``: list the rules in force, evaluate them against the simulator's truth,
and fail clearly on bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnguard.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from churnguard.simulate.load import simulate_into

    root = tmp_path_factory.mktemp("rules") / "shop"
    simulate_into(root, customers=600, months=24, seed=3)
    return root


def test_lists_defaults_and_workspace_rules(small_shop: Path) -> None:
    toml = small_shop / "churnguard.toml"
    before = toml.read_text()
    toml.write_text(before + '\n[[rules]]\nname = "mine"\nwhen = "complaints_90d >= 3"\n'
                    '\n[[rules]]\nname = "no contact"\nenabled = false\n')
    try:
        res = runner.invoke(app, ["rules", str(small_shop)], terminal_width=200)
    finally:
        toml.write_text(before)
    assert res.exit_code == 0, res.output
    assert "rules (6 enabled)" in res.output
    words = set(res.output.replace("│", " ").split())  # names wrap in narrow columns
    assert {"mine", "interaction", "purchase", "complaints_90d"} <= words
    assert "contact" not in words


def test_evaluate_writes_the_table_that_evaluate_returns(small_shop: Path,
                                                         tmp_path: Path) -> None:
    from churnguard.act.evaluate import rule_precision_recall
    from churnguard.act.rules import load_rules
    from churnguard.warehouse import Workspace

    out = tmp_path / "pr.csv"
    res = runner.invoke(app, ["rules", str(small_shop), "--evaluate", "--as-of", "2025-09-01",
                              "--as-of", "2025-12-01", "--out", str(out)],
                        terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "rules vs ground truth as of 2025-09-01, 2025-12-01" in res.output
    assert "any rule" in res.output and "lift" in res.output
    assert "high value at high risk' skipped" in res.output  # no model: said, not guessed
    written = pd.read_csv(out)
    with Workspace.open(small_shop, read_only=True) as ws:
        direct = rule_precision_recall(ws, load_rules([]), ["2025-09-01", "2025-12-01"])
    assert written["fired"].tolist() == direct["fired"].tolist()
    assert written["true_positives"].tolist() == direct["true_positives"].tolist()
    # the pooled table is the sum of the per-date ones (a customer counts once per date)
    with Workspace.open(small_shop, read_only=True) as ws:
        one = rule_precision_recall(ws, load_rules([]), "2025-09-01")
        two = rule_precision_recall(ws, load_rules([]), "2025-12-01")
    assert direct.attrs["customers"] == one.attrs["customers"] + two.attrs["customers"]
    assert (direct["fired"] == one["fired"] + two["fired"]).all()


@pytest.mark.parametrize(("args", "message"), [
    (["--evaluate"], "--evaluate needs --as-of"),
    (["--evaluate", "--as-of", "2025-13-01"], "is not a date"),
    (["--as-of", "2025-12-01"], "go with --evaluate"),
    (["--evaluate", "--as-of", "2025-12-01", "--horizon", "0"], "at least 1 day"),
    (["--evaluate", "--as-of", "2025-12-01", "--out", "x.docx"], "unknown output format"),
])
def test_bad_input_is_a_clear_error(small_shop: Path, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["rules", str(small_shop), *args], terminal_width=200)
    assert res.exit_code != 0
    assert message in str(res.exception) or message in res.output


def test_evaluate_needs_ground_truth(small_shop: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "real"
    shutil.copytree(small_shop, copy)
    shutil.rmtree(copy / "ground_truth")
    res = runner.invoke(app, ["rules", str(copy), "--evaluate", "--as-of", "2025-12-01"])
    assert res.exit_code != 0
    assert "no ground truth" in str(res.exception)
