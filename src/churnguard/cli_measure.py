"""``churnguard measure``: churn and retention rates per period, printed as a table.

Wired into the main app by ``register(app)`` (cli.py stays thin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from churnguard.errors import InputError

console = Console()
OUT_FORMATS = (".csv", ".parquet", ".html")


def _pct(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):.1%}"  # type: ignore[arg-type]


def _pp(value: object) -> str:
    return "" if pd.isna(value) else f"{100 * float(value):+.1f} pp"  # type: ignore[arg-type]


def render(df: pd.DataFrame, *, by: str | None, title: str) -> Table:
    """The rates frame as a Rich table (percentages, incomplete periods marked with *)."""
    table = Table(title=title, show_lines=False)
    heads = [*([by] if by else []), "period", "start", "new", "reactivated", "churned",
             "end", "churn rate", "retention", "change"]
    for h in heads:
        table.add_column(h, justify="left" if h in (by, "period") else "right")
    for r in df.itertuples(index=False):
        row = r._asdict()
        cells = [str(row[by])] if by else []
        cells += [
            f"{row['period_start']}{'' if row['complete'] else ' *'}",
            *(str(row[c]) for c in ("customers_start", "new", "reactivated", "churned",
                                    "customers_end")),
            _pct(row["churn_rate"]), _pct(row["retention_rate"]),
            _pp(row["churn_rate_change"]),
        ]
        table.add_row(*cells)
    return table


def write(df: pd.DataFrame, out: Path) -> None:
    """Write the rates frame as CSV, Parquet or HTML (by the file's suffix)."""
    suffix = out.suffix.lower()
    if suffix not in OUT_FORMATS:
        raise InputError(f"{out}: unknown output format; use one of {', '.join(OUT_FORMATS)}")
    if suffix == ".csv":
        df.to_csv(out, index=False)
    elif suffix == ".parquet":
        df.to_parquet(out, index=False)
    else:
        out.write_text(df.to_html(index=False, na_rep=""), encoding="utf-8")


def measure(
    path: Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)],
    period: Annotated[str, typer.Option(help="day, week, month, quarter or year.")] = "month",
    by: Annotated[str | None, typer.Option(
        help="Break down by a customers column, custom attribute or band "
             "(purchase_frequency_band, purchase_amount_band, tenure_band).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Measure as of this date (YYYY-MM-DD): later rows are ignored.")] = None,
    definition: Annotated[str | None, typer.Option(
        help="auto, contractual or non_contractual (default: churnguard.toml).")] = None,
    inactive_days: Annotated[int | None, typer.Option(
        help="Non-contractual: days without activity (default: churnguard.toml).")] = None,
    grace_days: Annotated[int | None, typer.Option(
        help="Contractual: days to renew (default: churnguard.toml).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Also write the table to a .csv, .parquet or .html file.")] = None,
) -> None:
    """Churn and retention rates per period: customers at start, new, reactivated, churned."""
    from churnguard.measure.rates import churn_rates
    from churnguard.warehouse import Workspace

    if out is not None and out.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"{out}: unknown output format; use one of {', '.join(OUT_FORMATS)}")
    with Workspace.open(path, read_only=True) as ws:
        df = churn_rates(ws, period=period, by=by, as_of=as_of, definition=definition,
                         inactive_days=inactive_days, grace_days=grace_days)
    if df.empty:
        console.print(f"[yellow]no customers to measure in[/] {path}")
        return
    console.print(render(df, by=by, title=f"Churn per {period} - {path}"))
    if not df.complete.all():
        console.print("* the period is not over yet: its counts are partial")
    if out is not None:
        write(df, out)
        console.print(f"[green]wrote[/] {out}")


def register(app: typer.Typer) -> None:
    """Add the measure commands to the main ``churnguard`` app."""
    app.command("measure")(measure)
