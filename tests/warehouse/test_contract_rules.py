"""Every contract rule has a failing example, generated from the contract definitions.

For each table of ``churnguard.contract.TABLES`` and each column rule (required, type,
allowed_values, range, finite, unknown_customer), each cross-field ``Rule`` and the
duplicate key, a three-row CSV whose middle row breaks exactly that rule must be refused:
``BatchRefused`` names the row, column and rule, the table is unchanged and the row is in
quarantine. A rule added to the contract shows up here as a new case; if no bad value can
be generated for it, its case fails and says what to add.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import ibis
import pytest

from churnguard.contract import TABLES, Column, Rule, TableContract
from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import BatchRefused, ingest_file

#: a valid value per contract type (timestamps equal, so no ordering rule fires)
GOOD = {
    "string": "x",
    "int": "1",
    "float": "1.5",
    "bool": "true",
    "timestamp": "2024-01-01 00:00:00",
    "json": "{}",
}
#: a value that is not of the type
NOT_OF_TYPE = {"int": "1.5x", "float": "abc", "bool": "maybe", "timestamp": "not a date"}
#: values tried for the columns of a cross-field rule until one combination breaks it
DOMAIN = {
    "timestamp": ["2024-01-01 00:00:00", "2024-06-01 00:00:00", ""],
    "bool": ["true", "false", ""],
    "int": ["0", "5", ""],
    "float": ["0", "5.5", ""],
    "string": ["a", "b", ""],
}
KNOWN_CUSTOMER = "C1"


def good_value(col: Column) -> str:
    if col.references:
        return KNOWN_CUSTOMER
    if col.allowed:
        return col.allowed[0]
    if col.dtype in ("int", "float") and col.min_value is not None:
        return str(int(col.min_value) + 1)
    return GOOD[col.dtype]


def good_row(contract: TableContract, key: str) -> dict[str, str]:
    row = {c.name: good_value(c) for c in contract.columns}
    row[contract.key] = key
    return row


def bad_value(col: Column, rule: str) -> str:
    if rule == "required":
        return ""
    if rule == "type":
        return NOT_OF_TYPE[col.dtype]
    if rule == "allowed_values":
        return "surely-not-allowed"
    if rule == "range":
        if col.min_value is not None:
            return str(col.min_value - 1)
        return str(col.max_value + 1)  # type: ignore[operator]
    if rule == "finite":
        return "inf"
    if rule == "unknown_customer":
        return "NOBODY"
    raise AssertionError(f"no bad value for new column rule {rule!r}: add one to bad_value()")


def _parsed(col: Column, text: str) -> object:
    if text == "":
        return None
    if col.dtype == "timestamp":
        import datetime as dt

        return dt.datetime.fromisoformat(text)
    if col.dtype == "bool":
        return text == "true"
    if col.dtype == "int":
        return int(text)
    if col.dtype == "float":
        return float(text)
    return text


def breaking_values(contract: TableContract, rule: Rule) -> dict[str, str]:
    """A combination of values for ``rule.columns`` that the rule flags (searched)."""
    cols = [contract.column(c) for c in rule.columns]
    combos = list(itertools.product(*(DOMAIN[c.dtype] for c in cols)))
    schema = {
        c.name: {
            "timestamp": "timestamp",
            "bool": "boolean",
            "int": "int64",
            "float": "float64",
            "string": "string",
        }[c.dtype]
        for c in cols
    }
    t = ibis.memtable(
        {c.name: [_parsed(c, combo[i]) for combo in combos] for i, c in enumerate(cols)},
        schema=schema,
    ).mutate(_i=ibis.row_number())
    hit = t.filter(rule.violated(t).fill_null(False)).order_by("_i").limit(1).to_pyarrow()
    assert hit.num_rows, f"{contract.name}.{rule.name}: no value in DOMAIN breaks it; extend it"
    combo = combos[hit.column("_i")[0].as_py()]
    return {c.name: combo[i] for i, c in enumerate(cols)}


def _cases() -> list[pytest.param]:
    out = []
    for name, contract in TABLES.items():
        for col in contract.columns:
            for rule in col.rules():
                out.append(
                    pytest.param(name, "column", col.name, rule, id=f"{name}-{col.name}-{rule}")
                )
        for rule in contract.rules:
            out.append(
                pytest.param(name, "rule", rule.columns[0], rule.name, id=f"{name}-{rule.name}")
            )
        out.append(
            pytest.param(
                name, "duplicate", contract.key, "duplicate_key", id=f"{name}-duplicate_key"
            )
        )
    return out


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding one customer, copied for each case (ingest is the slow part)."""
    root = tmp_path_factory.mktemp("rules") / "ws"
    with Workspace.init(root) as ws:
        f = _write_csv(root.parent / "c.csv", [{"customer_id": KNOWN_CUSTOMER}])
        ingest_file(ws, "customers", f)
    return root


@pytest.mark.parametrize(("table", "kind", "column", "rule"), _cases())
def test_each_rule_refuses_a_batch_with_one_bad_row(
    base_workspace: Path,
    tmp_path: Path,
    table_rows,
    table: str,
    kind: str,
    column: str,
    rule: str,
) -> None:
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(base_workspace, root)
    contract = TABLES[table]
    rows = [good_row(contract, f"K{i}") for i in (1, 2, 3)]
    if table == "customers":  # the known customer stays the only one with key C1
        rows = [good_row(contract, k) for k in ("K1", "K2", "K3")]
    if kind == "column":
        rows[1][column] = bad_value(contract.column(column), rule)
        bad_row, shown = 2, rows[1][column]
    elif kind == "rule":
        the_rule = next(r for r in contract.rules if r.name == rule)
        rows[1].update(breaking_values(contract, the_rule))
        bad_row, shown = 2, rows[1][column]
    else:
        rows[2][contract.key] = rows[0][contract.key]
        bad_row, shown = 3, rows[2][column]
    path = _write_csv(tmp_path / f"{table}.csv", rows)

    with Workspace.open(root) as ws:
        before = table_rows(ws, table)
        with pytest.raises(BatchRefused) as info:
            ingest_file(ws, table, path)
        result = info.value.result
        found = [(e.row, e.column, e.rule) for e in result.examples]
        assert (bad_row, column, rule) in found, found
        example = next(e for e in result.examples if (e.column, e.rule) == (column, rule))
        assert (example.value or "") == shown
        assert result.rejected == 1, found  # only the bad row; the good rows are fine
        assert result.status == "refused"
        assert table_rows(ws, table) == before
        quarantined = ws.warehouse.duck.execute(
            "SELECT row_number, column_name, rule FROM _quarantine WHERE batch_id = ?",
            [result.batch_id],
        ).fetchall()
        assert (bad_row, column, rule) in quarantined
        log = ws.warehouse.duck.execute(
            "SELECT status, rejected FROM _ingest_log WHERE batch_id = ?", [result.batch_id]
        ).fetchall()
        assert log == [("refused", 1)]
        # the same rows without the bad one are accepted as they are
        good = [r for i, r in enumerate(rows, start=1) if i != bad_row]
        ok = ingest_file(ws, table, _write_csv(tmp_path / "good.csv", good))
        assert (ok.inserted, ok.rejected) == (2, 0)


def test_timestamps_outside_1900_2100_are_out_of_range(ws: Workspace, write) -> None:
    path = write("o.csv", "customer_id,signup_at\nA,2024-01-01\nB,1850-01-01\nC,2150-01-01\n")
    with pytest.raises(BatchRefused) as info:
        ingest_file(ws, "customers", path)
    found = {(e.row, e.column, e.rule) for e in info.value.result.examples}
    assert found == {(2, "signup_at", "range"), (3, "signup_at", "range")}


def test_every_rule_of_the_contract_has_a_case() -> None:
    """The cases above come from the contract; this pins that no kind is skipped."""
    ids = {p.id for p in _cases()}
    for name, contract in TABLES.items():
        assert f"{name}-duplicate_key" in ids
        for rule in contract.rules:
            assert f"{name}-{rule.name}" in ids
        for col in contract.columns:
            for r in col.rules():
                assert f"{name}-{col.name}-{r}" in ids
                if r not in (
                    "required",
                    "type",
                    "allowed_values",
                    "range",
                    "finite",
                    "unknown_customer",
                ):
                    pytest.fail(f"new column rule {r!r}: teach bad_value() a failing example")
