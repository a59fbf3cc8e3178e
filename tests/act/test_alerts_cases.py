"""Alerts (cooldown, routing, cases) and the retention case state machine and stats."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from churnguard.act import cases as C
from churnguard.act.alerts import raise_alerts
from churnguard.act.models import Alert, Case
from churnguard.act.rules import evaluate_rules, load_rules
from churnguard.appdb import AppDB
from churnguard.warehouse.config import RuleConfig

DAY = date(2026, 3, 1)


@pytest.fixture
def db(tmp_path: Path) -> AppDB:
    d = AppDB(f"sqlite:///{tmp_path / 'app.db'}")
    d.upgrade()
    return d


def fire(db: AppDB, day: date, customers: list[str], *, cooldown: int = 30,
         route: str = "owner", rule: str = "complaints", owners: dict[str, str] | None = None):
    rules = load_rules([RuleConfig(name=rule, when="complaints_30d >= 1", route=route,
                                   cooldown_days=cooldown, playbook="service_recovery")],
                       defaults=())
    owners = owners or {}
    frame = pd.DataFrame({"customer_id": customers, "complaints_30d": [2] * len(customers),
                          "owner": [owners.get(c) for c in customers],
                          "value_at_stake": [500.0] * len(customers),
                          "value_basis": ["12-month CLV"] * len(customers)})
    hits, _ = evaluate_rules(rules, frame)
    return raise_alerts(db, hits, frame, day)


def test_cooldown_one_alert_per_customer_and_rule_per_window(db: AppDB) -> None:
    r1 = fire(db, DAY, ["A", "B"])
    assert (r1.created, r1.cases_opened) == (2, 2)
    again = fire(db, DAY, ["A", "B"])  # same day: idempotent
    assert (again.created, again.already) == (0, 2)
    inside = fire(db, DAY + timedelta(days=29), ["A", "C"])
    assert (inside.created, inside.cooling_down) == (1, 1)  # A cools down, C is new
    after = fire(db, DAY + timedelta(days=30), ["A"])
    assert after.created == 1
    with db.session() as s:
        assert s.query(Alert).filter_by(customer_id="A").count() == 2
        # the second alert of A joined A's open case
        case = s.query(Case).filter_by(customer_id="A").one()
        assert len(case.alerts) == 2 and after.cases_joined == 1


def test_other_rule_is_not_in_cooldown(db: AppDB) -> None:
    fire(db, DAY, ["A"], rule="r1")
    assert fire(db, DAY + timedelta(days=1), ["A"], rule="r2").created == 1


def test_alert_carries_reasons_value_and_playbook(db: AppDB) -> None:
    fire(db, DAY, ["A"], owners={"A": "Bob Li"})
    with db.session() as s:
        a = s.query(Alert).one()
        assert a.reasons and "Complaints" in a.reasons[0]
        assert a.value_at_stake == 500.0 and a.value_basis == "12-month CLV"
        assert a.playbook == "service_recovery"
        assert (a.assignee, a.route, a.owner) == ("Bob Li", "owner", "Bob Li")


def test_routing_owner_team_and_unassigned(db: AppDB) -> None:
    fire(db, DAY, ["A", "B"], owners={"A": "Bob Li"})
    fire(db, DAY, ["C"], route="retention team", rule="r2")
    with db.session() as s:
        got = {a.customer_id: (a.assignee, a.route) for a in s.query(Alert)}
    assert got == {"A": ("Bob Li", "owner"), "B": ("unassigned", "owner"),
                   "C": ("retention team", "retention team")}


def test_best_retention_staff_by_save_rate_and_load(db: AppDB) -> None:
    # history: Ann saves 4 of 5, Bob 1 of 4, Cy 3 of 3
    history = {"Ann": ["saved"] * 4 + ["lost"], "Bob": ["saved"] + ["lost"] * 3,
               "Cy": ["saved"] * 3}
    with db.session() as s:
        for who, outcomes in history.items():
            for i, out in enumerate(outcomes):
                case, _ = C.open_or_join(s, f"{who}{i}", title="x", assignee=who)
                C.transition(s, case, out)
        assert C.best_retention_staff(s, top=2) == ["Cy", "Ann"]
    fire(db, DAY, ["X1", "X2", "X3"], route="best_retention_staff", owners={"X1": "Bob"})
    with db.session() as s:
        got = sorted(a.assignee for a in s.query(Alert).filter(Alert.customer_id.like("X%")))
        routes = {a.route for a in s.query(Alert)}
    assert got == ["Ann", "Cy", "Cy"] or got == ["Ann", "Ann", "Cy"]  # balanced load
    assert routes == {"best_retention_staff"}


def test_best_staff_without_history_falls_back_to_owner(db: AppDB) -> None:
    fire(db, DAY, ["A"], route="best_retention_staff", owners={"A": "Bob Li"})
    with db.session() as s:
        a = s.query(Alert).one()
    assert a.assignee == "Bob Li" and "no case history yet" in a.route


def test_state_machine(db: AppDB) -> None:
    with db.session() as s:
        case, created = C.open_or_join(s, "A", title="t", assignee="Bob")
        assert created and case.state == "open"
        same, created = C.open_or_join(s, "A", title="another alert")
        assert same.id == case.id and not created
        C.transition(s, case, "contacted", note="called, offered annual plan", author="Bob")
        assert case.first_contact_at is not None
        with pytest.raises(C.CaseStateError, match="contacted; it can move to saved, lost"):
            C.transition(s, case, "open")
        C.add_note(s, case, "will decide next week")
        C.transition(s, case, "saved")
        assert case.closed_at is not None
        with pytest.raises(C.CaseStateError, match="closed"):
            C.transition(s, case, "lost")
        with pytest.raises(C.CaseStateError, match="unknown state"):
            C.transition(s, case, "won")
        kinds = [e.kind for e in case.events]
        assert kinds == ["opened", "alert", "state", "note", "state"]
        # a closed case does not absorb new alerts: the next one opens a new case
        new, created = C.open_or_join(s, "A", title="later")
        assert created and new.id != case.id


def test_not_churning_confirms_active_customer(db: AppDB) -> None:
    with db.session() as s:
        case, _ = C.open_or_join(s, "A", title="inactive?")
        C.transition(s, case, "not_churning", note="seasonal buyer, confirmed active")
        assert case.state == "not_churning" and case.first_contact_at is None


def test_case_stats_per_owner_and_playbook(db: AppDB) -> None:
    with db.session() as s:
        for i, (who, pb, out) in enumerate([("Ann", "call", "saved"), ("Ann", "call", "lost"),
                                            ("Ann", "offer", "saved"), ("Bob", "call", None)]):
            case, _ = C.open_or_join(s, f"c{i}", title="t", assignee=who, playbook=pb)
            C.transition(s, case, "contacted", at=case.opened_at + timedelta(hours=2 + i))
            if out:
                C.transition(s, case, out)
        by_owner = C.case_stats(s).set_index("assignee")
        by_pb = C.case_stats(s, by="playbook").set_index("playbook")
    assert by_owner.loc["Ann", "save_rate"] == pytest.approx(2 / 3)
    assert by_owner.loc["Ann", "hours_to_first_contact"] == pytest.approx(3.0)
    assert by_owner.loc["Bob", "open"] == 1 and pd.isna(by_owner.loc["Bob", "save_rate"])
    assert by_pb.loc["call", "cases"] == 3 and by_pb.loc["call", "save_rate"] == 0.5
