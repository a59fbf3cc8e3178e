"""Building blocks of the data contract: column types, columns, cross-field rules, tables.

A contract is plain data. The warehouse turns it into DDL, parse expressions and
validation queries; the docs generator turns it into ``docs/data-contract.md``.

>>> col = Column("amount", "float", required=True, finite=True, doc="Order value.")
>>> col.rules()
['required', 'type', 'finite']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir

DType = Literal["string", "int", "float", "bool", "timestamp", "json"]

TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "是的", "真", "بله", "آری", "درست")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "不是", "假", "خیر", "نه", "نادرست")
#: tried after ISO 8601 for naive text timestamps, before the workspace's own formats
DEFAULT_TIMESTAMP_FORMATS = (
    "%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d", "%Y.%m.%d",
    "%Y年%m月%d日", "%Y年%m月%d日 %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
)
#: DuckDB storage type of each contract type (timestamps are UTC instants)
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "json": "JSON",
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Column name in the warehouse (English snake_case).
    dtype : {"string", "int", "float", "bool", "timestamp", "json"}
        Logical type; values in files are parsed into it.
    required : bool
        The value may not be null or empty.
    allowed : tuple of str, optional
        Closed set of values (compared after lower-casing and trimming).
    synonyms : dict, optional
        Spellings users export that mean an allowed value (``"one year" -> "annual"``).
    min_value, max_value : float, optional
        Inclusive numeric bounds.
    finite : bool
        Reject NaN and infinity.
    references : str, optional
        ``"customers"``: the value must be a known customer_id.
    """

    name: str
    dtype: DType
    required: bool = False
    allowed: tuple[str, ...] | None = None
    synonyms: dict[str, str] = field(default_factory=dict)
    min_value: float | None = None
    max_value: float | None = None
    finite: bool = False
    references: str | None = None
    doc: str = ""

    def rules(self) -> list[str]:
        """Names of the column-level rules that apply to this column."""
        out = []
        if self.required:
            out.append("required")
        if self.dtype not in ("string", "json"):
            out.append("type")
        if self.allowed is not None:
            out.append("allowed_values")
        if self.min_value is not None or self.max_value is not None:
            out.append("range")
        if self.finite:
            out.append("finite")
        if self.references:
            out.append("unknown_" + self.references.rstrip("s"))
        return out


@dataclass(frozen=True)
class Rule:
    """A cross-field rule. ``violated(t)`` is a boolean Ibis expression, true on bad rows.

    The rule only runs when every column in ``columns`` is present in the batch; its
    reported column is the first of ``columns``.
    """

    name: str
    columns: tuple[str, ...]
    message: str
    violated: Callable[[ir.Table], ir.BooleanValue]


@dataclass(frozen=True)
class TableContract:
    """The contract of one warehouse table."""

    name: str
    key: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    doc: str = ""
    #: the column that places a row in time (used for status and point-in-time cuts)
    time_column: str | None = None
    #: columns outside the contract are kept as custom attributes in this JSON column
    attributes_column: str | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def ddl(self, qualified_name: str | None = None) -> str:
        """``CREATE TABLE IF NOT EXISTS`` statement for the DuckDB warehouse."""
        cols = [f'"{c.name}" {SQL_TYPES[c.dtype]}' for c in self.columns]
        if self.attributes_column:
            cols.append(f'"{self.attributes_column}" JSON')
        cols.append('"_ingested_at" TIMESTAMPTZ')
        name = qualified_name or self.name
        return f'CREATE TABLE IF NOT EXISTS "{name}" ({", ".join(cols)})'
