"""The data contract: one definition per table (columns, types, keys, rules).

>>> from churnguard.contract import get_contract
>>> get_contract("orders").key
'order_id'
"""

from __future__ import annotations

import difflib

from churnguard.contract.reasons import MAIN_REASONS, REASON_CODES, SUB_REASONS
from churnguard.contract.schema import SQL_TYPES, Column, DType, Rule, TableContract
from churnguard.contract.tables import TABLES
from churnguard.errors import InputError


def get_contract(table: str) -> TableContract:
    """The contract of ``table``; a clear error with close matches for a wrong name."""
    try:
        return TABLES[table]
    except KeyError:
        close = difflib.get_close_matches(table, TABLES, n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise InputError(
            f"unknown table {table!r}; the tables are: {', '.join(TABLES)}.{hint}"
        ) from None


__all__ = [
    "MAIN_REASONS",
    "REASON_CODES",
    "SQL_TYPES",
    "SUB_REASONS",
    "TABLES",
    "Column",
    "DType",
    "Rule",
    "TableContract",
    "get_contract",
]
