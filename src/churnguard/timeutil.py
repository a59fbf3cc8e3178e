"""Dates and times shared by every layer: ``as_of`` values are UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime

from churnguard.errors import InputError


def to_utc(value: str | date | datetime | None) -> datetime | None:
    """Normalise an ``as_of``: ISO text, a date (midnight) or a datetime; naive means UTC.

    >>> to_utc("2024-07-01")
    datetime.datetime(2024, 7, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> to_utc(None) is None
    True
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"as_of {value!r} is not a date; write it as YYYY-MM-DD or an ISO timestamp"
            ) from None
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise InputError(f"as_of {value!r} is not a date, datetime or ISO text")
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
