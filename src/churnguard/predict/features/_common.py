"""Shared pieces of the feature sources: the cut-off date and portable Ibis helpers.

Every window boundary is computed in Python from ``as_of`` and enters the query as a
literal, so no engine-specific interval arithmetic is needed; days between two instants
are differences of epoch seconds, which every Ibis backend compiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

from churnguard.errors import InputError
from churnguard.timeutil import to_utc

if TYPE_CHECKING:
    import ibis.expr.types as ir

TS = dt.Timestamp(timezone="UTC")
SECONDS_PER_DAY = 86_400.0
DAYS_PER_MONTH = 365.25 / 12


def as_of_utc(value: str | date | datetime) -> datetime:
    """``as_of`` as an aware UTC datetime (see :func:`churnguard.timeutil.to_utc`).

    >>> as_of_utc("2024-07-01")
    datetime.datetime(2024, 7, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    out = to_utc(value)
    if out is None:
        raise InputError("as_of is required: a date such as 2024-07-01")
    return out


@dataclass(frozen=True)
class Cut:
    """The point in time features are computed at: only rows strictly before it count."""

    as_of: datetime

    @property
    def epoch(self) -> float:
        """``as_of`` in seconds since 1970 (UTC)."""
        return self.as_of.timestamp()

    def ago(self, days: int) -> datetime:
        """The instant ``days`` days before ``as_of``."""
        return self.as_of - timedelta(days=days)

    def lit(self) -> ir.TimestampScalar:
        """``as_of`` as an Ibis timestamp literal (UTC)."""
        return ibis.literal(self.as_of, type=TS)

    def days_since(self, ts: ir.TimestampValue) -> ir.FloatingValue:
        """Days from ``ts`` to ``as_of`` (fractional; null when ``ts`` is null)."""
        return (self.epoch - ts.epoch_seconds()) / SECONDS_PER_DAY

    def within(self, ts: ir.TimestampValue, days: int, *, skip: int = 0) -> ir.BooleanValue:
        """``ts`` lies in ``[as_of - skip - days, as_of - skip)``.

        ``skip=0`` is the last ``days`` days; ``skip=days`` the window before that.
        """
        return (ts >= self.ago(skip + days)) & (ts < self.ago(skip))


def before(t: ir.Table, column: str, cut: Cut) -> ir.Table:
    """Rows of ``t`` with a customer and ``column`` strictly before the cut."""
    return t.filter(t.customer_id.notnull(), t[column].notnull(), t[column] < cut.as_of)


def days_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """Days from ``start`` to ``end`` (fractional)."""
    return (end.epoch_seconds() - start.epoch_seconds()) / SECONDS_PER_DAY


def trend(recent: ir.NumericValue, previous: ir.NumericValue) -> ir.FloatingValue:
    """Symmetric relative change in [-1, 1]; 0 when both are zero or null.

    ``(recent - previous) / (|recent| + |previous|)``: -1 means the activity stopped,
    +1 that it is new, 0 that it did not change.
    """
    r = recent.fill_null(0).cast("float64")
    p = previous.fill_null(0).cast("float64")
    total = r.abs() + p.abs()
    return ibis.cases((total == 0, 0.0), else_=(r - p) / total)


def least_present(*values: ir.Value) -> ir.Value:
    """The smallest non-null of ``values`` (null if all are null), portable across engines.

    Engines disagree on whether ``LEAST`` skips nulls, so this spells it out.
    """
    out = values[0]
    for v in values[1:]:
        out = ibis.cases((out.isnull(), v), (v.isnull(), out), (v < out, v), else_=out)
    return out


def check_columns(t: ir.Table, table: str, needed: tuple[str, ...]) -> None:
    """Raise :class:`InputError` if ``t`` lacks a column the features of ``table`` need."""
    missing = [c for c in needed if c not in t.columns]
    if missing:
        raise InputError(
            f"table {table} has no column(s) {', '.join(missing)}, which the churn features "
            f"need; it has: {', '.join(t.columns)}. Pass the warehouse table of the data "
            "contract, or add the columns (they may be empty)."
        )
