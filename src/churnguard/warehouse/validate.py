"""Contract validation as Ibis expressions: one table of violations per batch.

Given the typed batch (one row per source row, ``_row`` = 1-based row number in the file,
``_perr_<col>`` = the value was present but could not be parsed), :func:`violations`
returns an Ibis table ``(_row, column_name, rule, message)`` with one row per broken rule.
Because it is Ibis, the same checks run on any engine the warehouse uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.contract import Column, TableContract

if TYPE_CHECKING:
    import ibis.expr.types as ir

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "yes/no (true/false, 1/0)",
    "timestamp": "a date/time in a known format (add yours to [ingest] timestamp_formats)",
}
MIN_YEAR, MAX_YEAR = 1900, 2100


def _part(t: ir.Table, mask: ir.BooleanValue, column: str, rule: str,
          message: ir.StringValue | str) -> ir.Table:
    msg = message if not isinstance(message, str) else ibis.literal(message)
    return t.filter(mask.fill_null(False)).select(
        _row=t._row,
        column_name=ibis.literal(column),
        rule=ibis.literal(rule),
        message=msg.cast("string"),
    )


def _column_checks(t: ir.Table, col: Column) -> list[ir.Table]:
    c = t[col.name]
    parts = []
    if col.dtype in _TYPE_WORDS:
        parts.append(_part(t, t[f"_perr_{col.name}"], col.name, "type",
                           f"not {_TYPE_WORDS[col.dtype]}"))
    if col.required:
        parts.append(_part(t, c.isnull() & ~t[f"_perr_{col.name}"], col.name, "required",
                           "a value is required"))
    if col.allowed is not None:
        parts.append(_part(t, c.notnull() & ~c.isin(list(col.allowed)), col.name,
                           "allowed_values", "must be one of: " + ", ".join(col.allowed)))
    if col.dtype in ("int", "float"):
        if col.finite:
            parts.append(_part(t, c.isnan() | c.isinf(), col.name, "finite",
                               "must be a finite number (not NaN or infinity)"))
        if col.min_value is not None:
            parts.append(_part(t, c < col.min_value, col.name, "range",
                               f"must be >= {col.min_value:g}"))
        if col.max_value is not None:
            parts.append(_part(t, c > col.max_value, col.name, "range",
                               f"must be <= {col.max_value:g}"))
    if col.dtype == "timestamp":
        parts.append(_part(t, (c.year() < MIN_YEAR) | (c.year() >= MAX_YEAR), col.name, "range",
                           f"must be between {MIN_YEAR} and {MAX_YEAR}"))
    return parts


def violations(
    t: ir.Table,
    contract: TableContract,
    present: list[str],
    *,
    customers: ir.Table | None = None,
) -> ir.Table:
    """All contract violations of the typed batch ``t``; ``present``: columns the file has."""
    parts: list[ir.Table] = []
    for col in contract.columns:
        if col.name in present:
            parts.extend(_column_checks(t, col))
    # duplicate keys: group first (a hash aggregate), then revisit only the repeated keys;
    # a window over the whole batch would sort every row
    key = contract.key
    repeated = (
        t.filter(t[key].notnull())
        .group_by(key)
        .aggregate(_n=ibis._.count(), _first=t._row.min())
        .filter(ibis._._n > 1)
    )
    dup = t.inner_join(repeated, key).select("_row", "_first")
    parts.append(_part(
        dup, dup._row != dup._first, key, "duplicate_key",
        ibis.literal("the same key is already in row ").concat(dup._first.cast("string"))
        .concat(" of this file"),
    ))
    for col in contract.columns:
        if col.references and col.name in present and customers is not None:
            known = customers[contract.key if contract.name == "customers" else "customer_id"]
            parts.append(_part(
                t, t[col.name].notnull() & ~t[col.name].isin(known), col.name,
                "unknown_customer",
                "no such customer_id in customers; ingest the customers file first",
            ))
    for rule in contract.rules:
        if all(c in present for c in rule.columns):
            parts.append(_part(t, rule.violated(t), rule.columns[0], rule.name, rule.message))
    return ibis.union(*parts) if len(parts) > 1 else parts[0]
