"""Churn definitions: which rule labels a customer, and with which windows.

A :class:`ChurnRules` is the validated, engine-free form of the ``[churn]`` config section
plus any call-time overrides. Per-segment overrides are written ``"column = value"``:

>>> rules = ChurnRules.make(segments={"industry = wholesale": {"inactive_days": 90}})
>>> rules.segments[0]
SegmentOverride(column='industry', value='wholesale', inactive_days=90, grace_days=None)
>>> rules.inactive_day_values()
(90, 180)
>>> ChurnRules.make(segments={"industry": {"inactive_days": 90}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
churnguard.errors.InputError: [churn.segments] 'industry': a segment key is written "column ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from churnguard.contract import get_contract
from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.warehouse.config import ChurnSection

Definition = Literal["auto", "contractual", "non_contractual"]
DEFINITIONS: tuple[str, ...] = ("auto", "contractual", "non_contractual")
#: the label a customer gets from each rule (``snapshot``: the customers.churned flag)
LABEL_DEFINITIONS: tuple[str, ...] = ("contractual", "non_contractual", "snapshot")
OVERRIDABLE = ("inactive_days", "grace_days")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")
#: customers columns a segment key may not use (not attributes of a segment)
_NOT_SEGMENT_COLUMNS = ("customer_id", "signup_at", "churned_at", "name")


@dataclass(frozen=True)
class SegmentOverride:
    """Windows for the customers whose ``column`` equals ``value`` (compared as text).

    ``column`` is a customers column, or ``attributes.<name>`` for a custom attribute.
    """

    column: str
    value: str
    inactive_days: int | None = None
    grace_days: int | None = None

    @classmethod
    def parse(cls, key: str, values: Mapping[str, int]) -> SegmentOverride:
        """Parse one ``[churn.segments]`` entry; a clear :class:`InputError` if it is bad."""
        where = f"[churn.segments] {key!r}"
        m = _KEY.match(key)
        if m is None or not m.group(2):
            raise InputError(
                f'{where}: a segment key is written "column = value", e.g. "industry = wholesale"'
            )
        column, value = m.group(1), m.group(2).strip("'\"")
        known = [c for c in get_contract("customers").column_names if c not in _NOT_SEGMENT_COLUMNS]
        if not column.startswith("attributes.") and column not in known:
            raise InputError(
                f"{where}: {column!r} is not a customers column; use one of "
                f"{', '.join(known)}, or attributes.<name> for a custom attribute"
            )
        unknown = [k for k in values if k not in OVERRIDABLE]
        if unknown or not values:
            raise InputError(
                f"{where}: can override {' and '.join(OVERRIDABLE)} only; got "
                f"{', '.join(unknown) or 'nothing'}"
            )
        for k, v in values.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if k == "inactive_days"
                                                                       else 0):
                raise InputError(f"{where}: {k} must be a whole number of days "
                                 f"({'> 0' if k == 'inactive_days' else '>= 0'}); got {v!r}")
        return cls(column, value, values.get("inactive_days"), values.get("grace_days"))


@dataclass(frozen=True)
class ChurnRules:
    """A validated churn definition. Build it with :meth:`make` or :meth:`from_config`.

    ``segments`` are tried in order; the first that matches a customer wins.
    """

    definition: Definition = "auto"
    inactive_days: int = 180
    grace_days: int = 0
    segments: tuple[SegmentOverride, ...] = ()

    @classmethod
    def make(
        cls,
        *,
        definition: str = "auto",
        inactive_days: int = 180,
        grace_days: int = 0,
        segments: Mapping[str, Mapping[str, int]] | None = None,
    ) -> ChurnRules:
        if definition not in DEFINITIONS:
            raise InputError(
                f"unknown churn definition {definition!r}; use one of {', '.join(DEFINITIONS)}"
            )
        if isinstance(inactive_days, bool) or not isinstance(inactive_days, int) or (
                inactive_days < 1):
            raise InputError(f"inactive_days must be a whole number > 0; got {inactive_days!r}")
        if isinstance(grace_days, bool) or not isinstance(grace_days, int) or grace_days < 0:
            raise InputError(f"grace_days must be a whole number >= 0; got {grace_days!r}")
        parsed = tuple(SegmentOverride.parse(k, v) for k, v in (segments or {}).items())
        return cls(definition, inactive_days, grace_days, parsed)  # type: ignore[arg-type]

    @classmethod
    def from_config(
        cls,
        section: ChurnSection,
        *,
        definition: str | None = None,
        inactive_days: int | None = None,
        grace_days: int | None = None,
    ) -> ChurnRules:
        """The workspace's ``[churn]`` section, with call-time values taking precedence."""
        return cls.make(
            definition=definition or section.definition,
            inactive_days=inactive_days if inactive_days is not None else section.inactive_days,
            grace_days=grace_days if grace_days is not None else section.grace_days,
            segments=section.segments,
        )

    def inactive_day_values(self) -> tuple[int, ...]:
        """Every distinct inactivity window in use (sorted)."""
        vals = {self.inactive_days} | {s.inactive_days for s in self.segments
                                       if s.inactive_days is not None}
        return tuple(sorted(vals))
