"""The measure commands: ``measure``, ``cohorts``, ``survival``, ``compare``, ``history``.

Each prints a Rich table and, with ``--out``, writes the same data as ``.csv`` / ``.parquet``,
or a chart as ``.png`` / ``.html`` (the HTML embeds the table under the chart). Wired into
the main app by ``register(app)`` (cli.py stays thin).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from churnguard.cli_common import check_out as _check_out
from churnguard.cli_common import console, write_frame
from churnguard.errors import InputError

OUT_FORMATS = (".csv", ".parquet", ".html", ".png")
Chart = Callable[[Path], None]


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
    # records, not itertuples: a breakdown like "attributes.tier" is no Python identifier
    for row in df.to_dict("records"):
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


def check_out(out: Path | None) -> None:
    """Fail early (before any work) on an output file of an unknown format."""
    _check_out(out, OUT_FORMATS)


def write(df: pd.DataFrame, out: Path, chart: Chart | None = None, *, title: str = "") -> None:
    """Write a frame as CSV or Parquet, or ``chart`` as PNG / HTML (by the file's suffix).

    Without a chart, ``.html`` is the table and ``.png`` a picture of it.
    """
    from churnguard.measure import plots

    check_out(out)
    if chart is None and out.suffix.lower() == ".png":
        plots.table_png(df, out, title=title)
    else:
        write_frame(df, out, other=chart)


def _done(out: Path | None, df: pd.DataFrame, chart: Chart | None = None, *,
          title: str = "") -> None:
    if out is not None:
        write(df, out, chart, title=title)
        console.print(f"[green]wrote[/] {out}")


def _money(value: object) -> str:
    return "" if pd.isna(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _num(value: object, digits: int = 2) -> str:
    if pd.isna(value):  # type: ignore[call-overload]
        return ""
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def render_revenue(df: pd.DataFrame, *, by: str | None, title: str) -> Table:
    """The revenue columns of the rates frame as a Rich table."""
    table = Table(title=title)
    heads = [*([by] if by else []), "period", "MRR start", "new", "expansion", "contraction",
             "churned", "MRR end", "gross churn", "NRR", "GRR"]
    for h in heads:
        table.add_column(h, justify="left" if h in (by, "period") else "right")
    for r in df.to_dict("records"):
        table.add_row(*([str(r[by])] if by else []),
                      f"{r['period_start']}{'' if r['complete'] else ' *'}",
                      *(_money(r[c]) for c in ("mrr_start", "new_mrr", "expansion_mrr",
                                               "contraction_mrr", "churned_mrr", "mrr_end")),
                      _pct(r["gross_mrr_churn_rate"]), _pct(r["net_revenue_retention"]),
                      _pct(r["gross_revenue_retention"]))
    return table


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
    revenue: Annotated[bool, typer.Option(
        "--revenue", help="Add revenue churn from subscriptions: MRR churn, contraction, "
                          "expansion, net and gross revenue retention.")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Also write the table to .csv / .parquet, or a chart to .png / .html.")] = None,
) -> None:
    """Churn and retention rates per period: customers at start, new, reactivated, churned."""
    from churnguard.measure import plots
    from churnguard.measure.rates import rates
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        df = rates(ws, period=period, by=by, revenue=revenue, as_of=as_of,
                   definition=definition, inactive_days=inactive_days, grace_days=grace_days)
    if df.empty:
        console.print(f"[yellow]no customers to measure in[/] {path}")
        return
    console.print(render(df, by=by, title=f"Churn per {period} - {path}"))
    if revenue:
        console.print(render_revenue(df, by=by, title=f"Revenue churn per {period} - {path}"))
    if not df.complete.all():
        console.print("* the period is not over yet: its counts are partial")
    _done(out, df, lambda p: plots.lines(df, p, x="period_start", y="churn_rate", group=by,
                                         title=f"Churn rate per {period}"))


# -- shared options --------------------------------------------------------------------------
PathArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Measure as of this date (YYYY-MM-DD): later rows are ignored.")]
Definition = Annotated[str | None, typer.Option(
    help="auto, contractual or non_contractual (default: churnguard.toml).")]
InactiveDays = Annotated[int | None, typer.Option(
    help="Non-contractual: days without activity (default: churnguard.toml).")]
GraceDays = Annotated[int | None, typer.Option(
    help="Contractual: days to renew (default: churnguard.toml).")]
Out = Annotated[Path | None, typer.Option(
    help="Also write the table to .csv / .parquet, or a chart to .png / .html.")]


def cohorts(
    path: PathArg,
    by: Annotated[str, typer.Option(
        help="signup_month, signup_quarter or signup_year.")] = "signup_month",
    value: Annotated[str, typer.Option(
        help="What the printed matrix and the chart show: retention, revenue_retention, "
             "customers or revenue.")] = "retention",
    as_of: AsOf = None, definition: Definition = None, inactive_days: InactiveDays = None,
    grace_days: GraceDays = None, out: Out = None,
) -> None:
    """Signup cohorts x months since signup: the share of customers (and revenue) retained."""
    from churnguard.measure import plots
    from churnguard.measure.cohorts import COHORT_COLUMNS, cohort_matrix
    from churnguard.measure.cohorts import cohorts as run
    from churnguard.warehouse import Workspace

    check_out(out)
    if value not in COHORT_COLUMNS[3:]:
        raise InputError(f"--value {value!r}: use one of {', '.join(COHORT_COLUMNS[3:])}")
    with Workspace.open(path, read_only=True) as ws:
        df = run(ws, by=by, as_of=as_of, definition=definition, inactive_days=inactive_days,
                 grace_days=grace_days)
    if df.empty:
        console.print(f"[yellow]no customers to measure in[/] {path}")
        return
    m = cohort_matrix(df, value)
    if len(m.columns) > 13:  # a readable subset; the file gets every month
        keep = [c for c in m.columns if c <= 3 or (c <= 12 and c % 3 == 0) or c % 6 == 0]
        m = m[keep]
    sizes = df.groupby("cohort").cohort_size.first()
    table = Table(title=f"{value} by {by} (columns: months since signup) - {path}")
    table.add_column("cohort")
    table.add_column("size", justify="right")
    for c in m.columns:
        table.add_column(str(c), justify="right")
    pct = value in ("retention", "revenue_retention")
    for cohort, row in m.iterrows():
        table.add_row(str(cohort), str(sizes[cohort]),
                      *(_pct(v) if pct else _num(v, 0) for v in row))
    console.print(table)
    _done(out, df, lambda p: plots.cohort_heatmap(df, p, value=value,
                                                  title=f"{value} by {by}"))


def survival(
    path: PathArg,
    by: Annotated[str | None, typer.Option(
        help="Segment: contract_type, plan, region, a band or custom attribute.")] = None,
    episodes: Annotated[str, typer.Option(
        help="first (lifetime from acquisition) or all (reactivations too).")] = "first",
    as_of: AsOf = None, definition: Definition = None, inactive_days: InactiveDays = None,
    grace_days: GraceDays = None, out: Out = None,
) -> None:
    """Kaplan-Meier survival by segment: median lifetime with 95% CI and a log-rank test."""
    from churnguard.measure import plots
    from churnguard.measure.survival import survival as run
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        res = run(ws, by=by, episodes=episodes, as_of=as_of,  # type: ignore[arg-type]
                  definition=definition, inactive_days=inactive_days, grace_days=grace_days)
    if res.summary.empty:
        console.print(f"[yellow]no customers to measure in[/] {path}")
        return
    table = Table(title=f"Survival by {by or 'all'} - {path}")
    for h in (by or "segment", "customers", "churned", "median days", "95% CI",
              "S(90d)", "S(180d)", "S(365d)"):
        table.add_column(h, justify="left" if h == (by or "segment") else "right")
    for r in res.summary.to_dict("records"):
        table.add_row(str(r["segment"]), str(r["customers"]), str(r["churned"]),
                      _num(r["median_days"], 0),
                      f"{_num(r['median_lower'], 0)} - {_num(r['median_upper'], 0)}",
                      _pct(r["survival_90d"]), _pct(r["survival_180d"]),
                      _pct(r["survival_365d"]))
    console.print(table)
    if not res.test.empty:
        t = res.test.iloc[0]
        console.print(f"log-rank test: chi2 = {t.statistic:.2f}, df = {t.degrees_of_freedom}, "
                      f"p = {t.p_value:.3g}")
    console.print("inf: more than half the segment had not churned by the end of the data")
    _done(out, res.summary, lambda p: plots.survival_curves(res.curves, p,
                                                            summary=res.summary))


def compare(
    path: PathArg,
    window: Annotated[str, typer.Option(help="Window before churn: 90d, 12w, 3m, 1y.")] = "90d",
    alpha: Annotated[float, typer.Option(help="False discovery rate.")] = 0.05,
    as_of: AsOf = None, definition: Definition = None, inactive_days: InactiveDays = None,
    grace_days: GraceDays = None, out: Out = None,
) -> None:
    """Churned vs active customers: which behaviours differ, by how much, how sure we are."""
    from churnguard.measure import plots
    from churnguard.measure.compare import compare as run
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        df = run(ws, window=window, alpha=alpha, as_of=as_of, definition=definition,
                 inactive_days=inactive_days, grace_days=grace_days)
    n = df.iloc[0]
    table = Table(title=f"Churned ({n.n_churned}) vs active ({n.n_active}), {window} "
                        f"before churn - {path}")
    for h in ("behaviour", "churned", "active", "difference", "effect", "test", "p", "q"):
        table.add_column(h, justify="left" if h in ("behaviour", "test") else "right")
    for r in df.to_dict("records"):
        rate = r["kind"] == "rate"
        fmt = _pct if rate else _num
        eff = f"{r['effect_size']:+.2f} {'RD' if rate else 'd'}" if pd.notna(
            r["effect_size"]) else ""
        sig = "[bold]" if r["q_value"] < alpha else ""
        table.add_row(f"{sig}{r['behaviour']}", fmt(r["churned_value"]),
                      fmt(r["active_value"]),
                      _pp(r["difference"]) if rate else _num(r["difference"]), eff, r["test"],
                      _num(r["p_value"], 4), _num(r["q_value"], 4))
    console.print(table)
    console.print(f"bold: q < {alpha} (Benjamini-Hochberg); d = Cohen's d, RD = risk difference")
    _done(out, df, lambda p: plots.bars(df, p, label="behaviour", value="standardized_effect",
                                        title="Churned vs active: standardized difference"))


def history(
    path: PathArg,
    churned_in: Annotated[str, typer.Option(
        "--churned-in", help="2025, 2025-Q3, 2025-07 or 2025-07-15.", show_default=False)],
    window_days: Annotated[int, typer.Option(help="Recent window before churn.")] = 90,
    limit: Annotated[int, typer.Option(help="Rows to print (the file gets all).")] = 30,
    as_of: AsOf = None, definition: Definition = None, inactive_days: InactiveDays = None,
    grace_days: GraceDays = None, out: Out = None,
) -> None:
    """Pre-churn history of the customers who churned in a period (complaints, last product,
    promotions, events)."""
    from churnguard.measure.history import history as run
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        df = run(ws, churned_in=churned_in, window_days=window_days, as_of=as_of,
                 definition=definition, inactive_days=inactive_days, grace_days=grace_days)
    if df.empty:
        console.print(f"[yellow]nobody churned in[/] {churned_in}")
        return
    table = Table(title=f"{len(df)} customers churned in {churned_in} - {path}")
    heads = {"customer_id": "customer", "churn_at": "churned", "tenure_days": "tenure d",
             "complaints": "complaints", "complaints_in_window": f"last {window_days}d",
             "last_complaint_category": "last complaint", "last_product": "last product",
             "promotions": "promotions", "last_promotion": "last promo",
             "events_attended": "events", "cancel_reason": "reason"}
    for c, h in heads.items():
        table.add_column(h, justify="right" if df[c].dtype.kind in "if" else "left")
    for r in df.head(limit).to_dict("records"):
        table.add_row(*("" if pd.isna(r[c]) else  # type: ignore[call-overload]
                        str(r[c])[:10] if c == "churn_at" else
                        _num(r[c], 0) if c == "tenure_days" else str(r[c]) for c in heads))
    console.print(table)
    share = (df.complaints > 0).mean()
    top = df.last_product.value_counts().head(3)
    console.print(f"{share:.0%} complained before leaving; {(df.promotions > 0).mean():.0%} "
                  f"took a promotion; {(df.events_attended > 0).mean():.0%} attended an event; "
                  f"last products: {', '.join(f'{k} ({v})' for k, v in top.items())}")
    if len(df) > limit:
        console.print(f"... {len(df) - limit} more rows (use --out to get them all)")
    _done(out, df, title=f"Churned in {churned_in}")


def register(app: typer.Typer) -> None:
    """Add the measure commands to the main ``churnguard`` app."""
    app.command("measure")(measure)
    app.command("cohorts")(cohorts)
    app.command("survival")(survival)
    app.command("compare")(compare)
    app.command("history")(history)
