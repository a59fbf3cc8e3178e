"""The calendar of a simulation: whole months ending with the month of ``end``.

Month ``t`` of the window runs from ``starts[P + t]`` to ``starts[P + t + 1]``; the ``P``
months before the window hold the sign-ups of customers acquired before it. The last
month is cut at the end of the ``end`` day.

>>> g = Grid.build(end="2026-06-30", months=3, pre_months=2)
>>> g.month_label(0), g.month_label(2)
('2026-04', '2026-06')
>>> int(g.end_us - g.starts[-2]) // 86_400_000_000
30
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Grid:
    """Month boundaries (int64 microseconds since the epoch, UTC)."""

    starts: np.ndarray  # shape (pre_months + months + 1,): month starts, last = end (exclusive)
    pre_months: int
    months: int
    end_us: int  # exclusive end: midnight after the ``end`` day

    @classmethod
    def build(cls, *, end: str | dt.date, months: int, pre_months: int) -> Grid:
        end_day = np.datetime64(end if isinstance(end, str) else end.isoformat(), "D")
        end_excl = end_day + np.timedelta64(1, "D")
        last_month = end_day.astype("datetime64[M]")
        first = last_month - np.timedelta64(months - 1 + pre_months, "M")
        months_arr = first + np.arange(months + pre_months, dtype=np.int64).astype("timedelta64[M]")
        starts = months_arr.astype("datetime64[us]").astype(np.int64)
        end_us = int(end_excl.astype("datetime64[us]").astype(np.int64))
        return cls(np.append(starts, end_us), pre_months, months, end_us)

    def k(self, t: int) -> int:
        """Grid index of window month ``t``."""
        return self.pre_months + t

    def bounds(self, t: int) -> tuple[int, int]:
        """Start (inclusive) and end (exclusive) of window month ``t``."""
        k = self.k(t)
        return int(self.starts[k]), int(self.starts[k + 1])

    @property
    def window_start_us(self) -> int:
        return int(self.starts[self.pre_months])

    def month_label(self, t: int) -> str:
        return str(np.datetime64(int(self.starts[self.k(t)]), "us").astype("datetime64[M]"))
