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
