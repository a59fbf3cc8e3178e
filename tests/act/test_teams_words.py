"""``[teams]`` routing (least loaded member, a configured best_retention_staff team, unknown
teams refused) and alerts in words in English, Chinese and Persian (pages and delivery)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from churnguard.act import cases as C
from churnguard.act.alerts import raise_alerts
from churnguard.act.models import Alert
from churnguard.act.outbox import alert_message
from churnguard.act.rules import evaluate_rules, load_rules
from churnguard.act.teams import check_routes
from churnguard.act.words import alert_reasons
from churnguard.appdb import AppDB
from churnguard.errors import ConfigError
from churnguard.warehouse.config import RuleConfig, WorkspaceConfig

DAY = date(2026, 3, 1)
RULE = RuleConfig(name="complaints", when="complaints_30d >= 2 and complaints_30d > "
                  "complaints_prev_30d", severity="high", playbook="service_recovery")


@pytest.fixture
def db(tmp_path: Path) -> AppDB:
    d = AppDB(f"sqlite:///{tmp_path / 'app.db'}")
    d.upgrade()
    return d


def fire(db: AppDB, customers: list[str], route: str, teams: dict[str, list[str]],
         day: date = DAY) -> None:
    rules = load_rules([RULE.model_copy(update={"route": route})], defaults=())
    frame = pd.DataFrame({"customer_id": customers, "complaints_30d": [3] * len(customers),
                          "complaints_prev_30d": [1] * len(customers),
                          "owner": ["Bob Li"] * len(customers),
                          "value_at_stake": [1234.5] * len(customers),
                          "value_basis": ["12-month CLV"] * len(customers)})
    hits, _ = evaluate_rules(rules, frame)
    raise_alerts(db, hits, frame, day, teams=teams)


def test_team_route_goes_to_the_least_loaded_member(db: AppDB) -> None:
    teams = {"key_accounts": ["alice", "Carol Wu"]}
    fire(db, ["A", "B", "C", "D"], "key_accounts", teams)
    with db.session() as s:
        got = {a.customer_id: (a.assignee, a.route) for a in s.query(Alert)}
    assert got == {"A": ("alice", "key_accounts"), "B": ("Carol Wu", "key_accounts"),
                   "C": ("alice", "key_accounts"), "D": ("Carol Wu", "key_accounts")}
    with db.session() as s:  # alice closes her two cases: she is the less loaded now
        for case in C.list_cases(s, owner="alice"):
            C.transition(s, case, "saved")
    fire(db, ["E", "F"], "key_accounts", teams)
    with db.session() as s:
        new = {a.customer_id: a.assignee for a in s.query(Alert).filter(
            Alert.customer_id.in_(["E", "F"]))}
    assert new == {"E": "alice", "F": "alice"}  # 0, then 1 open vs Carol's 2


def test_configured_best_retention_staff_team_replaces_the_computed_one(db: AppDB) -> None:
    fire(db, ["A", "B"], "best_retention_staff",
         {"best_retention_staff": ["Dana", "Eve"]})
    with db.session() as s:
        got = sorted((a.assignee, a.route) for a in s.query(Alert))
    assert got == [("Dana", "best_retention_staff"), ("Eve", "best_retention_staff")]


def test_unknown_team_and_bad_teams_are_refused() -> None:
    teams = {"key_accounts": ["alice"]}
    check_routes([RULE.model_copy(update={"route": r}) for r in
                  ("owner", "best_retention_staff", "key_accounts", "alice")], teams)
    with pytest.raises(ConfigError, match=r"'key_acounts'.*did you mean key_accounts"):
        check_routes([RULE.model_copy(update={"route": "key_acounts"})], teams)
    with pytest.raises(ConfigError, match="has no members"):
        check_routes([], {"empty": []})
    with pytest.raises(ConfigError, match='"owner" is reserved'):
        check_routes([], {"owner": ["x"]})
    cfg = WorkspaceConfig.model_validate({"teams": {"t": ["a"]}, "channels": [
        {"name": "c", "kind": "webhook", "url": "http://x", "language": "fa"}]})
    assert cfg.teams == {"t": ["a"]} and cfg.channels[0].language == "fa"
    with pytest.raises(ValueError, match="language"):
        WorkspaceConfig.model_validate({"channels": [
            {"name": "c", "kind": "webhook", "url": "http://x", "language": "de"}]})


def test_alert_in_three_languages(db: AppDB) -> None:
    fire(db, ["C7"], "owner", {})
    rules = {r.name: r for r in load_rules([RULE], defaults=())}
    with db.session() as s:
        a = s.query(Alert).one()
        en = alert_message(a, "k1", "en")
        zh = alert_message(a, "k1", "zh")
        fa = alert_message(a, "k1", "fa")
        zh_rules = alert_reasons(a, "zh", rules)
    # English is what the rule wrote, unchanged
    assert en.title == "[high] complaints: customer C7"
    assert en.lines[0] == "Customer C7 (as of 2026-03-01)"
    assert [ln for ln in en.lines if ln.startswith("Why: ")] == [f"Why: {r}" for r in
                                                                  a.reasons]
    assert "Value at stake: 1,234 (12-month CLV)" in en.lines  # rounded half to even
    assert "Suggested playbook: service_recovery" in en.lines
    # Chinese: hand-written expectations of the catalogue's sentences
    assert zh.title == "[高] complaints：客户 C7"
    assert zh.lines[0] == "客户 C7（截至 2026年3月1日）"
    assert "原因：近30天投诉数：3" in zh.lines
    assert "原因：60至30天前的投诉数：1" in zh.lines
    assert "建议应对方案：服务补救" in zh.lines and "涉及价值：1,234（12-month CLV）" in zh.lines
    assert zh_rules == ["近30天投诉数：3（规则：complaints_30d >= 2）",
                        "近30天投诉数：3（规则：complaints_30d > complaints_prev_30d）"]
    # Persian: Persian digits and the Solar Hijri date, no ASCII digit outside ids
    assert fa.lines[0] == "مشتری C7 (تا تاریخ ۱۴۰۴/۱۲/۱۰)"
    assert "چرا: شکایت\u200cها در ۳۰ روز گذشته: ۳" in fa.lines
    assert not re.search(r"[0-9]", " ".join(fa.lines).replace("C7", "").replace(
        "12-month", ""))
    assert fa.data["language"] == "fa" and fa.data["reasons_localized"]
