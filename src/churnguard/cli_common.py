"""What every ``churnguard`` command group shares: the consoles and ``--out`` writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.console import Console

from churnguard.errors import InputError

console = Console()
err_console = Console(stderr=True)

TABLE_FORMATS = (".csv", ".parquet", ".html")


def check_out(out: Path | None, formats: tuple[str, ...] = TABLE_FORMATS) -> None:
    """Fail early (before any work) on an output file of an unknown format."""
    if out is not None and out.suffix.lower() not in formats:
        raise InputError(f"{out}: unknown output format; use one of {', '.join(formats)}")


def write_frame(df: pd.DataFrame, out: Path, *,
                other: Callable[[Path], None] | None = None) -> None:
    """Write ``df`` as CSV, Parquet or an HTML table, by the file's suffix.

    ``other`` writes any other suffix (a chart as PNG / HTML, say); it also wins for
    ``.html`` when given, so a command can put a chart there instead of the table.
    """
    suffix = out.suffix.lower()
    if suffix == ".csv":
        df.to_csv(out, index=False)
    elif suffix == ".parquet":
        df.to_parquet(out, index=False)
    elif other is not None:
        other(out)
    elif suffix == ".html":
        out.write_text(df.to_html(index=False, na_rep=""), encoding="utf-8")
    else:
        raise InputError(f"{out}: unknown output format; use one of {', '.join(TABLE_FORMATS)}")
