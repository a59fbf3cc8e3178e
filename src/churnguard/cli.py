"""The ``churnguard`` command line: thin; every command calls the packages.

Errors a user can cause print one red line and exit non-zero (2: unusable input,
1: rows rejected); set CHURNGUARD_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from churnguard import __version__
from churnguard.cli_common import console, err_console
from churnguard.errors import ChurnguardError

app = typer.Typer(
    name="churnguard",
    help="Measure, value, predict and act on customer churn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="Load real public datasets into a workspace.",
                           no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]


def _version(value: bool) -> None:
    if value:
        console.print(f"churnguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")


@app.command()
def init(path: WorkspaceArg) -> None:
    """Create a new workspace: PATH/churnguard.toml and PATH/warehouse.duckdb."""
    from churnguard.warehouse import Workspace

    with Workspace.init(path):
        pass
    console.print(f"[green]created workspace[/] {path}  (edit {path / 'churnguard.toml'})")


@app.command()
def ingest(
    path: WorkspaceArg,
    table: Annotated[str, typer.Argument(help="Contract table: customers, orders, ...")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet, JSON lines or Excel file.")],
    allow_rejects: Annotated[bool, typer.Option(
        help="Load the good rows even if some are rejected (rejects go to quarantine).")] = False,
    encoding: Annotated[str | None, typer.Option(
        help="Text encoding of a CSV (default: UTF-8, else GB18030/GBK).")] = None,
    delimiter: Annotated[str | None, typer.Option(
        help="CSV delimiter (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")] = None,
    fmt: Annotated[str | None, typer.Option("--format",
                                            help="csv, parquet, json or excel.")] = None,
) -> None:
    """Validate FILE against the contract of TABLE and upsert it into the workspace."""
    from churnguard.warehouse import Workspace
    from churnguard.warehouse.ingest import BatchRefused, IngestResult, ingest_file

    started = time.perf_counter()
    with Workspace.open(path) as ws:
        size = file.stat().st_size if file.is_file() else 0
        show = size >= ws.config.ingest.progress_min_bytes and sys.stderr.isatty()
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=err_console, disable=not show,
                      transient=True) as bar:
            task = bar.add_task(f"checking {file.name}", total=size)
            try:
                result: IngestResult = ingest_file(
                    ws, table, file, allow_rejects=allow_rejects, encoding=encoding,
                    delimiter=delimiter, sheet=sheet, fmt=fmt,
                    progress=lambda n: bar.advance(task, n),
                    on_step=lambda s: bar.update(task, description=f"{s} {file.name}"),
                )
            except BatchRefused as refused:
                bar.stop()
                _print_ingest(refused.result, time.perf_counter() - started)
                raise
    _print_ingest(result, time.perf_counter() - started)


def _print_ingest(r: object, seconds: float) -> None:
    from churnguard.warehouse.ingest import IngestResult

    assert isinstance(r, IngestResult)
    color = {"applied": "green", "partial": "yellow", "refused": "red"}[r.status]
    console.print(
        f"[{color}]{r.status}[/] {r.file} -> {r.table}: {r.rows_read:,} rows read, "
        f"{r.inserted:,} inserted, {r.updated:,} updated, {r.unchanged:,} unchanged, "
        f"{r.rejected:,} rejected ({seconds:.1f} s, batch {r.batch_id})"
    )
    if r.attributes:
        console.print(f"  custom attributes: {', '.join(r.attributes)}")
    if r.ignored_columns:
        console.print(f"  [yellow]ignored columns (not in the contract):[/] "
                      f"{', '.join(r.ignored_columns)}")
    for rej in r.examples[:5]:
        console.print(f"  [red]rejected[/] {rej.describe(r.file)}", markup=True,
                      highlight=False)
    if r.rejected > len(r.examples[:5]):
        console.print(f"  ... all rejects: churnguard rejects <workspace> --batch {r.batch_id}")


@app.command()
def status(path: WorkspaceArg) -> None:
    """Tables, row counts, date ranges, last ingest and rejects of a workspace."""
    from churnguard.warehouse import Workspace

    with Workspace.open(path, read_only=True) as ws:
        rows = ws.warehouse.status()
        cfg = ws.config
    table = Table(title=f"workspace {cfg.workspace.name} ({path})")
    for col in ("table", "rows", "from", "to", "last ingest", "rejected"):
        table.add_column(col, justify="right" if col in ("rows", "rejected") else "left")

    def day(d: object) -> str:
        return d.strftime("%Y-%m-%d") if d else "-"  # type: ignore[attr-defined]

    for s in rows:
        last = s.last_ingest_at.strftime("%Y-%m-%d %H:%M") if s.last_ingest_at else "-"
        table.add_row(s.table, f"{s.rows:,}", day(s.first_at), day(s.last_at), last,
                      f"[red]{s.rejected_rows:,}[/]" if s.rejected_rows else "0")
    console.print(table)


@app.command()
def rejects(
    path: WorkspaceArg,
    batch: Annotated[str | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
) -> None:
    """Rows kept in quarantine: file, row, column, value and the rule they broke."""
    from churnguard.warehouse import Workspace

    with Workspace.open(path, read_only=True) as ws:
        where = "WHERE batch_id = ?" if batch else ""
        rows = ws.warehouse.duck.execute(
            f"SELECT batch_id, file, row_number, column_name, value, rule, message "
            f"FROM _quarantine {where} ORDER BY quarantined_at DESC, row_number LIMIT {int(limit)}",
            [batch] if batch else [],
        ).fetchall()
    table = Table(title="quarantine")
    for col in ("batch", "file", "row", "column", "value", "rule", "message"):
        table.add_column(col)
    for r in rows:
        table.add_row(*[("" if v is None else str(v)) for v in r])
    console.print(table if rows else "no rejected rows")


@app.command()
def simulate(
    path: WorkspaceArg,
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 50_000,
    months: Annotated[int, typer.Option(min=1, max=240, help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    end: Annotated[str, typer.Option(help="Last day of the data (YYYY-MM-DD).")] = "2026-06-30",
    replace: Annotated[bool, typer.Option(help="Replace data already in the workspace.")] = False,
) -> None:
    """Create (or fill) a workspace with a simulated business with known ground truth."""
    from churnguard.simulate.load import simulate_into

    started = time.perf_counter()
    with console.status("simulating ..."):
        counts = simulate_into(path, customers=customers, months=months, seed=seed, end=end,
                               replace=replace)
    for name, n in counts.items():
        console.print(f"  {name:<14}{n:>12,} rows")
    console.print(f"[green]simulated[/] {customers:,} customers x {months} months into {path} "
                  f"({time.perf_counter() - started:.1f} s); ground truth in "
                  f"{path / 'ground_truth'}")


@datasets_app.command("cdnow")
def datasets_cdnow(
    path: WorkspaceArg,
    sample: Annotated[bool, typer.Option(help="The 1/10 sample used in the papers.")] = False,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder holding cdnow/ (default: ../shared/data or $CHURNGUARD_DATA_DIR).")] = None,
) -> None:
    """Load the real CDNOW purchase data into a workspace (created if needed)."""
    from churnguard.datasets import load_cdnow
    from churnguard.warehouse import Workspace

    started = time.perf_counter()
    ws = Workspace.open(path) if (path / "churnguard.toml").exists() else Workspace.init(path)
    with ws:
        results = load_cdnow(ws, data_dir, sample=sample)
    for r in results:
        _print_ingest(r, time.perf_counter() - started)


def _register_groups() -> None:
    from churnguard import cli_act, cli_app, cli_measure, cli_predict, cli_reasons, cli_value

    cli_measure.register(app)
    cli_value.register(app)
    cli_predict.register(app)
    cli_reasons.register(app)
    cli_act.register(app)
    cli_app.register(app)
    from churnguard import cli_decide
    cli_decide.register(app)
    from churnguard import cli_winback
    cli_winback.register(app)
    from churnguard import cli_rules
    cli_rules.register(app)


_register_groups()


def main() -> None:
    """Entry point: run the app, turning churnguard errors into one red line."""
    try:
        app()
    except ChurnguardError as exc:
        if os.environ.get("CHURNGUARD_DEBUG"):
            raise
        # escaped: messages quote TOML keys such as [winback.reasons.price], which Rich
        # would otherwise read as markup and drop
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
