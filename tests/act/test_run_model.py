"""``churnguard run`` with a real trained churn model: the score step scores, a rule on
``churn_probability`` fires and routes to a ``[teams]`` team, the alerts are delivered in
Chinese to a loopback webhook, and a second run the same day creates nothing new (scores
reused, no duplicate alert, case or message). A rule routing to an unknown team stops the
run at the config check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from churnguard.act.inputs import model_scores
from churnguard.act.models import Alert, OutboxMessage
from churnguard.act.run import RunError, daily_run
from churnguard.appdb import AppDB
from churnguard.predict.dataset import parse_as_of
from churnguard.warehouse import Workspace

from .test_run import counts

AS_OF = "2026-06-01"
TEAM = ["alice", "Zhou Retention"]  # not owners of any simulated customer
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated business with a churn model trained once and active."""
    from churnguard.predict.registry import ModelRegistry
    from churnguard.predict.train import train
    from churnguard.simulate.load import simulate_into

    root = tmp_path_factory.mktemp("act_model") / "shop"
    simulate_into(root, customers=1200, months=24, seed=11)
    with Workspace.open(root) as ws:
        result = train(ws, horizon="90d", origins=0)
    reg = ModelRegistry(root)
    if reg.active() is None:  # it did not beat the simple rule here; use it all the same
        reg.activate(result.version)
    assert reg.active() == result.version and result.kind != "rule"
    return root


@pytest.fixture
def shop(trained: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(trained, root)
    return root


def _configure(root: Path, hook_url: str, route: str = "retention") -> None:
    toml = root / "churnguard.toml"
    toml.write_text(toml.read_text() + f"""
[teams]
retention = {TEAM!r}

[[channels]]
name = "ops-cn"
kind = "webhook"
url = "{hook_url}/hook"
language = "zh"

[[rules]]
name = "model says high risk"
when = "churn_probability >= 0.5"
severity = "high"
playbook = "executive_save"
route = "{route}"
notify = ["ops-cn"]
cooldown_days = 30
""".replace("'", '"'))


@pytest.mark.slow
def test_run_with_a_trained_model_fires_routes_delivers_and_is_idempotent(
        shop: Path, hook_server) -> None:
    _configure(shop, hook_server.url)
    with Workspace.open(shop) as ws:
        first = daily_run(ws, as_of=AS_OF)
    steps = {s.name: s for s in first.steps}
    assert steps["score"].status == "ok" and "customers scored with model" in steps[
        "score"].note
    assert "model says high risk" in steps["rules"].note
    assert "'model says high risk' skipped" not in steps["rules"].note
    with Workspace.open(shop, read_only=True) as ws:
        db = AppDB.for_workspace(ws)
        scores = model_scores(ws, parse_as_of(AS_OF))
    assert scores is not None
    high = set(scores.loc[scores["churn_probability"] >= 0.5, "customer_id"])
    with db.session() as s:
        fired = s.query(Alert).filter(Alert.rule == "model says high risk").all()
        got = {a.customer_id for a in fired}
        assert fired and got == high  # every customer the model rates >= 0.5, no other
        for a in fired:
            assert a.values["churn_probability"] >= 0.5
            assert a.route == "retention" and a.assignee in TEAM
            assert a.reasons and "Churn probability" in a.reasons[0]
        assignees = [a.assignee for a in fired]
        assert abs(assignees.count(TEAM[0]) - assignees.count(TEAM[1])) <= 1  # balanced
        n_msgs = s.query(OutboxMessage).filter(OutboxMessage.channel == "ops-cn").count()
    db.dispose()
    assert n_msgs == len(fired) == len(hook_server.processed)
    body = next(iter(hook_server.processed.values())).body
    assert CJK.search(body["title"]) and "原因" in body["text"] and "流失概率" in body["text"]
    assert body["alert"]["language"] == "zh"
    before = counts(shop)

    with Workspace.open(shop) as ws:
        second = daily_run(ws, as_of=AS_OF)
    again = {s.name: s for s in second.steps}
    assert again["score"].status == "ok" and "reused today's" in again["score"].note
    assert "0 new alerts" in again["alerts"].note
    assert counts(shop) == before
    assert len(hook_server.requests) == n_msgs  # nothing delivered twice


@pytest.mark.slow
def test_rule_routing_to_an_unknown_team_stops_the_run(shop: Path, hook_server) -> None:
    _configure(shop, hook_server.url, route="retension")
    with Workspace.open(shop) as ws, pytest.raises(RunError) as err:
        daily_run(ws, as_of=AS_OF)
    text = str(err.value)
    assert "check config" in text and "'retension'" in text and "did you mean retention" in text
    assert counts(shop) == (0, 0, 0)
