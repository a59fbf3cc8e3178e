"""The daily run on a small simulated business: idempotent, skips missing layers, fails
clearly; default rules against the simulator's truth; the CLI commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churnguard.act.evaluate import rule_precision_recall
from churnguard.act.models import Alert, Case, OutboxMessage
from churnguard.act.rules import load_rules
from churnguard.act.run import RunError, daily_run
from churnguard.appdb import AppDB
from churnguard.warehouse import Workspace

AS_OF = "2025-12-01"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from churnguard.simulate.load import simulate_into

    root = tmp_path_factory.mktemp("act") / "shop"
    simulate_into(root, customers=1500, months=24, seed=5)
    return root


@pytest.fixture
def ws_copy(shop: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(shop, root)
    return root


def counts(root: Path) -> tuple[int, int, int]:
    with Workspace.open(root, read_only=True) as ws:
        db = AppDB.for_workspace(ws)
    with db.session() as s:
        out = (s.query(Alert).count(), s.query(Case).count(), s.query(OutboxMessage).count())
    db.dispose()
    return out


@pytest.mark.slow
def test_daily_run_twice_is_idempotent(ws_copy: Path, hook_server) -> None:
    toml = ws_copy / "churnguard.toml"
    toml.write_text(toml.read_text() + f"""
[[channels]]
name = "ops"
kind = "webhook"
url = "{hook_server.url}/hook"

[[rules]]
name = "complaints rising"
notify = ["ops"]
""")
    with Workspace.open(ws_copy) as ws:
        first = daily_run(ws, as_of=AS_OF)
    status = {s.name: s.status for s in first.steps}
    assert status["ingest"] == "skipped" and status["score"] == "skipped"
    assert status["alerts"] == "ok" and status["deliver"] == "ok"
    score = next(s for s in first.steps if s.name == "score")
    assert "no churn model" in score.note
    rules = next(s for s in first.steps if s.name == "rules")
    assert "high value at high risk" in rules.note and "skipped" in rules.note
    alerts, cases, messages = counts(ws_copy)
    assert alerts > 0 and cases > 0 and messages > 0
    assert len(hook_server.processed) == messages
    with Workspace.open(ws_copy) as ws:
        daily_run(ws, as_of=AS_OF)
    assert counts(ws_copy) == (alerts, cases, messages)
    assert len(hook_server.requests) == messages  # nothing sent twice


@pytest.mark.slow
def test_run_ingests_drop_folder_and_fails_clearly(ws_copy: Path) -> None:
    drop = ws_copy / "drop"
    drop.mkdir()
    (drop / "tickets.csv").write_text(
        "ticket_id,customer_id,opened_at,is_complaint,category\n"
        "TNEW1,C000001,2025-11-28T10:00:00Z,true,billing\n")
    with Workspace.open(ws_copy) as ws:
        rep = daily_run(ws, as_of=AS_OF, deliver_messages=False)
    ing = next(s for s in rep.steps if s.name == "ingest")
    assert ing.status == "ok" and "1 files" in ing.note
    assert not (drop / "tickets.csv").exists() and list((drop / "done").rglob("tickets.csv"))
    # a broken rule fails the run at the first step, naming it, with a non-zero exit code
    toml = ws_copy / "churnguard.toml"
    toml.write_text(toml.read_text() + '\n[[rules]]\nname = "bad"\nwhen = "orders_90 > 1"\n')
    with Workspace.open(ws_copy) as ws, pytest.raises(
            RunError, match=r"step 'check config' failed: .*'bad'.*orders_90d") as err:
        daily_run(ws, as_of=AS_OF)
    assert err.value.exit_code == 1


@pytest.fixture(scope="module")
def pr_table(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        return rule_precision_recall(ws, load_rules([]), AS_OF, horizon_days=90)


@pytest.mark.slow
def test_precision_recall_table_is_consistent(pr_table) -> None:
    t = pr_table.set_index("rule")
    assert pr_table.attrs["churners"] > 20
    assert (t["true_positives"] <= t["fired"]).all()
    assert t["precision"].dropna().between(0, 1).all()
    assert t["recall"].between(0, 1).all()
    assert t.loc["any rule", "fired"] >= t.drop("any rule")["fired"].max()
    assert any(n.startswith("rule 'high value at high risk' skipped") for n in
               pr_table.attrs["notes"])


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "measured, not assumed: on the simulator the default rules' alerts are NOT far more "
    "frequent among true churners (any-rule lift 0.73 here, 1.06-1.13 on 6,000 customers); "
    "single-feature signals are weak in the simulated hazard (best single-feature AUC ~0.6)"))
def test_default_rules_flag_true_churners_far_more_often(pr_table) -> None:
    assert pr_table.set_index("rule").loc["any rule", "lift"] > 1.5


def test_cli_alerts_cases_case(ws_copy: Path) -> None:
    from churnguard.cli import app
    from churnguard.cli_act import register

    if "case" not in {c.name for c in app.registered_commands}:
        register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(ws_copy), "--as-of", AS_OF, "--no-deliver"])
    assert res.exit_code == 0, res.output
    assert "no churn model" in res.output
    res = runner.invoke(app, ["alerts", str(ws_copy), "--open", "--limit", "3"])
    assert res.exit_code == 0 and "alerts (3 shown)" in res.output
    res = runner.invoke(app, ["cases", str(ws_copy), "--limit", "2"])
    assert res.exit_code == 0 and "cases (2 shown)" in res.output
    res = runner.invoke(app, ["case", str(ws_copy), "1", "--contacted", "--note",
                              "called, offered annual plan"])
    assert res.exit_code == 0 and "contacted" in res.output
    res = runner.invoke(app, ["case", str(ws_copy), "1", "--outcome", "saved"])
    assert res.exit_code == 0 and "saved" in res.output
    res = runner.invoke(app, ["cases", str(ws_copy), "--stats", "assignee"])
    assert res.exit_code == 0 and "cases by assignee" in res.output
