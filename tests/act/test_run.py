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


#: four quarterly dates pooled: a 1,500-customer shop has ~750 active customers a date,
#: too few for a rule that fires for 1 % of them to be judged on one date
EVAL_DATES = ("2025-03-01", "2025-06-01", "2025-09-01", AS_OF)


@pytest.fixture(scope="module")
def pr_table(shop: Path):
    with Workspace.open(shop, read_only=True) as ws:
        return rule_precision_recall(ws, load_rules([]), EVAL_DATES, horizon_days=90)


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
def test_default_rules_flag_true_churners_more_often(pr_table) -> None:
    """Against the simulator's truth on a shop the rules were not tuned on (seed 5; tuned
    on seeds 11 and 17): every default rule that fires often enough to judge flags true
    churners more often than the base rate, and their alerts together 1.3x as often or
    more (measured 1.44 here, 1.34 on seed 23; docs/rules-evaluation.md). Not 2x: the
    simulator's churn shocks (a rival's offer, a move) are invisible before they strike,
    and no-contact carries almost no hazard there (see the doc)."""
    t = pr_table.set_index("rule")
    assert t.loc["any rule", "lift"] >= 1.3
    assert t.loc["any rule", "recall"] >= 0.1
    judged = t.drop("any rule")
    judged = judged[judged["fired"] >= 15]
    assert {"interaction drop", "request not followed up", "no contact",
            "complaints rising", "purchase frequency drop"} <= set(judged.index)
    assert (judged["lift"] > 1.0).all(), judged


@pytest.mark.slow
def test_evaluation_exposes_a_rule_no_better_than_chance(shop: Path) -> None:
    """The former "no contact" default (no contact for 120 days, never-contacted included)
    flags a third of the customers or more at the base rate; the evaluation must say so."""
    from churnguard.warehouse.config import RuleConfig

    old = [RuleConfig(name="old no contact", when="days_since_last_contact >= 120 or "
                      "(isnull(days_since_last_contact) and tenure_days >= 120)")]
    with Workspace.open(shop, read_only=True) as ws:
        t = rule_precision_recall(ws, load_rules(old, defaults=()), AS_OF)
    row = t.set_index("rule").loc["old no contact"]
    assert row["fired"] > 0.3 * t.attrs["customers"] and row["lift"] < 1.1


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
