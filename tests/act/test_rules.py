"""Rule expressions: parsing, the whitelist, clear errors, vectorised evaluation, defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnguard.act.expr import Expression, RuleError
from churnguard.act.rules import DEFAULT_RULES, evaluate_rules, load_rules, merge_rules
from churnguard.warehouse.config import RuleConfig, WorkspaceConfig

KNOWN = {"a", "b", "seg", "x"}
FRAME = pd.DataFrame({"a": [1.0, 2.0, np.nan, 5.0], "b": [0, 3, 1, 5],
                      "seg": ["At risk", "Champions", None, "At risk"],
                      "x": [10.0, np.nan, 0.0, -1.0]})


@pytest.mark.parametrize(("source", "expected"), [
    ("a >= 2", [False, True, False, True]),
    ("a >= 2 and b > 3", [False, False, False, True]),
    ("a < 2 or b == 1", [True, False, True, False]),
    ("not a >= 2", [True, False, False, False]),  # missing stays False under not
    ("1 <= b < 5", [False, True, True, False]),
    ("seg in ['At risk', 'Lost']", [True, False, False, True]),
    ("seg not in ['At risk']", [False, True, False, False]),
    ("seg == 'Champions'", [False, True, False, False]),
    ("a * 2 <= b", [False, False, False, False]),
    ("b / a > 1", [False, True, False, False]),
    ("isnull(x) or x <= 0", [False, True, True, True]),
    ("coalesce(a, 0) == 0", [False, False, True, False]),
    ("abs(x) >= 1", [True, False, False, True]),
    ("max(a, b) >= 3", [False, True, False, True]),
    ("-x > 0", [False, False, False, True]),
    ("True", [True, True, True, True]),
])
def test_evaluates_vectorised(source: str, expected: list[bool]) -> None:
    got = Expression.parse(source, KNOWN).evaluate(FRAME)
    assert got.dtype == bool
    assert got.tolist() == expected


@pytest.mark.parametrize(("source", "match"), [
    ("complaint_30d > 1", r"unknown name 'complaint_30d'.*did you mean complaints_30d"),
    ("a >=", r"cannot parse"),
    ("__import__('os').system('x')", r"function call not allowed"),
    ("a.real > 1", r"attribute not allowed"),
    ("a[0] > 1", r"subscript not allowed"),
    ("(lambda: 1)()", r"not allowed"),
    ("a if b else x", r"ifexp not allowed"),
    ("a ** 2 > 1", r"binop not allowed"),
    ("a in b", r"'in' needs a list of constants"),
    ("a is None", r"comparison not allowed"),
    ("[x for x in a]", r"listcomp not allowed"),
    ("", r"empty 'when'"),
    ("abs(a, b) > 1", r"takes 1 argument"),
])
def test_rejects_with_clear_message(source: str, match: str) -> None:
    with pytest.raises(RuleError, match=match):
        Expression.parse(source, {"a", "b", "x", "complaints_30d"})


def test_string_vs_number_is_a_clear_error() -> None:
    with pytest.raises(RuleError, match="text column compared with a number"):
        Expression.parse("seg > 3", KNOWN).evaluate(FRAME)


def test_load_time_typo_in_toml_names_rule_and_close_matches() -> None:
    cfg = WorkspaceConfig.model_validate({"rules": [
        {"name": "mine", "when": "days_since_last_contct >= 30"}]})
    with pytest.raises(RuleError, match=r"\[\[rules\]\] 'mine': unknown name "
                                        r"'days_since_last_contct'.*days_since_last_contact"):
        load_rules(cfg.rules)


def test_unknown_channel_in_notify_is_an_error() -> None:
    cfg = [RuleConfig(name="r", when="complaints_30d >= 1", notify=["opz"])]
    with pytest.raises(RuleError, match="channel 'opz'"):
        load_rules(cfg, channels=["ops"])


def test_defaults_overridden_by_name_and_disabled() -> None:
    merged = merge_rules([RuleConfig(name="no contact", when="days_since_last_contact >= 60"),
                          RuleConfig(name="interaction drop", enabled=False),
                          RuleConfig(name="extra", when="complaints_90d >= 3")])
    by = {r.name: r for r in merged}
    assert by["no contact"].when == "days_since_last_contact >= 60"
    assert by["no contact"].playbook == "check_in_call"  # kept from the default
    assert [r.name for r in load_rules(merged, defaults=())].count("interaction drop") == 0
    assert merged[-1].name == "extra"
    assert len(merged) == len(DEFAULT_RULES) + 1


def test_default_rules_all_parse_and_cover_the_issue() -> None:
    names = {r.name for r in load_rules([])}
    assert {"purchase frequency drop", "interaction drop", "complaints rising", "no contact",
            "request not followed up", "high value at high risk"} <= names


def test_rule_needing_missing_model_is_skipped_with_a_note() -> None:
    rules = load_rules([RuleConfig(name="valuable and slipping",
                                   when="clv >= 5000 and churn_probability >= 0.3")])
    frame = pd.DataFrame({"customer_id": ["a"], "clv": [9000.0]})
    hits, notes = evaluate_rules([r for r in rules if r.name == "valuable and slipping"], frame)
    assert hits.empty
    assert any("no churn model is active" in n and "valuable and slipping" in n for n in notes)


def test_hits_carry_reasons_in_words_and_values() -> None:
    rules = [r for r in load_rules([]) if r.name == "request not followed up"]
    frame = pd.DataFrame({"customer_id": ["a", "b"], "open_requests": [2, 0],
                          "days_oldest_open_request": [9.5, np.nan]})
    hits, notes = evaluate_rules(rules, frame)
    assert hits["customer_id"].tolist() == ["a"] and not notes
    assert hits.loc[0, "values"] == {"open_requests": 2, "days_oldest_open_request": 9.5}
    assert any("waiting" in r and "9.5" in r for r in hits.loc[0, "reasons"])


def _interaction_features(rows: list[tuple[str, int, str, str, str, str | None]]
                          ) -> pd.Series:
    """Features of customer c1 as of 2025-01-01 from ``(id, days before, channel, kind,
    direction, staff)`` interaction rows."""
    from datetime import UTC, datetime, timedelta

    import ibis

    from churnguard.predict.features import compute_features

    as_of = datetime(2025, 1, 1, tzinfo=UTC)
    customers = pd.DataFrame({"customer_id": ["c1"],
                              "signup_at": [as_of - timedelta(days=400)],
                              **{c: [None] for c in ("region", "industry",
                                                     "acquisition_channel", "first_offer",
                                                     "plan", "contract_type",
                                                     "loyalty_tier")},
                              "loyalty_points": [None]})
    inter = pd.DataFrame([{"interaction_id": i, "customer_id": "c1",
                           "at": as_of - timedelta(days=d), "channel": ch, "kind": k,
                           "direction": dr, "staff": st} for i, d, ch, k, dr, st in rows])
    tables = {"customers": ibis.memtable(customers.astype({"loyalty_points": float})),
              "interactions": ibis.memtable(inter)}
    return compute_features(tables, as_of).set_index("customer_id").loc["c1"]


def test_newsletters_are_not_contact_and_do_not_answer_requests() -> None:
    """A bulk marketing e-mail (kind email_sent, nobody on our side) after a quote request
    neither answers it nor counts as contacting the customer; the same kind sent by a staff
    member does both. Values by hand: request 20 days ago, newsletter 10, personal 5."""
    newsletter = [("r", 20, "web", "quote_request", "inbound", None),
                  ("n", 10, "email", "email_sent", "outbound", None)]
    f = _interaction_features(newsletter)
    assert f["open_requests"] == 1 and f["days_oldest_open_request"] == pytest.approx(20.0)
    assert np.isnan(f["days_since_last_contact"]) and f["contacts_90d"] == 0
    personal = [*newsletter, ("p", 5, "email", "email_sent", "outbound", "Bob Li")]
    g = _interaction_features(personal)
    assert g["open_requests"] == 0 and g["days_since_last_contact"] == pytest.approx(5.0)
    assert g["contacts_90d"] == 1
    rule = [r for r in load_rules([]) if r.name == "request not followed up"]
    hits, _ = evaluate_rules(rule, pd.DataFrame([f, g]).assign(customer_id=["a", "b"]))
    assert hits["customer_id"].tolist() == ["a"]


@pytest.mark.parametrize(("name", "fires", "quiet"), [
    # a regular buyer who stopped vs one who merely slowed down, and a one-off buyer
    ("purchase frequency drop",
     {"orders_prev_90d": 4, "orders_90d": 2, "days_since_last_order": 50.0},
     [{"orders_prev_90d": 4, "orders_90d": 2, "days_since_last_order": 10.0},
      {"orders_prev_90d": 2, "orders_90d": 0, "days_since_last_order": 120.0}]),
    # halved and still falling vs halved but recovering, and too little activity to tell
    ("interaction drop",
     {"interactions_prev_90d": 20, "interactions_90d": 9, "interactions_30d": 1},
     [{"interactions_prev_90d": 20, "interactions_90d": 9, "interactions_30d": 5},
      {"interactions_prev_90d": 8, "interactions_90d": 1, "interactions_30d": 0}]),
    ("complaints rising",
     {"complaints_90d": 1, "unresolved_complaints": 1, "resolution_days_mean_90d": np.nan},
     [{"complaints_90d": 1, "unresolved_complaints": 0, "resolution_days_mean_90d": 0.5},
      {"complaints_90d": 0, "unresolved_complaints": 0, "resolution_days_mean_90d": 5.0}]),
    ("request not followed up",
     {"open_requests": 1, "days_oldest_open_request": 3.5},
     [{"open_requests": 1, "days_oldest_open_request": 1.0},
      {"open_requests": 1, "days_oldest_open_request": 400.0}]),
    ("no contact",
     {"days_since_last_contact": np.nan, "tenure_days": 400.0, "interactions_prev_90d": 12,
      "interactions_90d": 5},
     [{"days_since_last_contact": 30.0, "tenure_days": 400.0, "interactions_prev_90d": 12,
       "interactions_90d": 5},
      {"days_since_last_contact": 200.0, "tenure_days": 400.0, "interactions_prev_90d": 12,
       "interactions_90d": 11}]),
])
def test_default_rule_thresholds(name: str, fires: dict, quiet: list[dict]) -> None:
    """Each default rule needs a real drop from a real level of activity, not a blip."""
    rule = [r for r in load_rules([]) if r.name == name]
    frame = pd.DataFrame([fires, *quiet]).assign(customer_id=["hit", *[f"q{i}" for i in
                                                                         range(len(quiet))]])
    hits, notes = evaluate_rules(rule, frame)
    assert not notes and hits["customer_id"].tolist() == ["hit"]
