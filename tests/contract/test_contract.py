"""The contract definitions are coherent, and the published docs are generated from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.contract import REASON_CODES, SUB_REASONS, TABLES, get_contract
from churnguard.contract.docs import render
from churnguard.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_docs_are_generated_from_the_code() -> None:
    written = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert written == render(), (
        "docs/data-contract.md is stale: run `make docs` "
        "(python -m churnguard.contract.docs > docs/data-contract.md)"
    )


@pytest.mark.parametrize("name", list(TABLES))
def test_every_table_has_its_key_and_time_column(name: str) -> None:
    t = TABLES[name]
    assert t.column(t.key).required
    assert t.time_column in t.column_names
    assert len(set(t.column_names)) == len(t.column_names)
    for rule in t.rules:
        assert set(rule.columns) <= set(t.column_names)


def test_every_fact_table_refers_to_customers() -> None:
    for name, t in TABLES.items():
        if name in ("customers", "campaigns"):
            continue
        assert t.column("customer_id").references == "customers", name


def test_sub_reasons_point_at_main_reasons() -> None:
    for sub in SUB_REASONS.values():
        assert sub.main in REASON_CODES


def test_unknown_table_suggests_the_close_name() -> None:
    with pytest.raises(InputError, match="Did you mean orders"):
        get_contract("oders")
