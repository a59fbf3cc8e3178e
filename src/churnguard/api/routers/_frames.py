"""Turning frame rows into response models (NaN and NaT become null)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def clean(value: Any) -> Any:
    """A frame cell as a JSON-able Python value (missing values as None)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    cols = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    return [{c: clean(v) for c, v in zip(cols, row, strict=True)}
            for row in frame[cols].itertuples(index=False, name=None)]


def reasons_of(row: dict[str, Any]) -> list[str]:
    return [str(row[k]) for k in ("reason_1", "reason_2", "reason_3") if row.get(k)]
