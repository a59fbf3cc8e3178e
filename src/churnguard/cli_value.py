"""``churnguard rfm | clv | sltv | value-report``: customer value from a workspace.

Each command prints the top rows and totals as a Rich table; ``--out`` writes the full
frame (.csv, .parquet or .html). Wired into the main app by ``register(app)``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from churnguard.cli_common import check_out, console, write_frame
from churnguard.errors import InputError

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="As of this date (YYYY-MM-DD): later rows are ignored. "
                    "Default: the day after the last order.")]
Out = Annotated[Path | None, typer.Option(help="Write the full frame to .csv, .parquet or .html.")]
Top = Annotated[int, typer.Option(help="Rows to show.")]


#: short column headers, so the tables fit an 80-column terminal
HEADERS = {
    "customer_id": "customer", "recency_days": "R days", "frequency": "F",
    "monetary": "M", "rfm_score": "RFM", "p_alive": "P(alive)",
    "expected_purchases": "E[purch]", "expected_spend": "E[spend]", "clv": "CLV",
    "churn_probability": "P(churn)", "value_band": "value", "risk_band": "risk",
    "retention_potential": "action", "expected_return": "E[return]", "priority": "#",
    "period_months": "months", "renewals": "renew", "mrr": "MRR", "derl_periods": "DERL",
    "p_reactivation": "P(react)", "own_value": "own value", "days_lost": "days lost",
    "second_life_value": "2nd life", "sltv": "SLTV",
}


def _write(df: pd.DataFrame, out: Path | None) -> None:
    if out is None:
        return
    write_frame(df, out)
    console.print(f"[green]wrote[/] {out} ({len(df):,} rows)")


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{v:.3f}"
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return f"{v:,}" if isinstance(v, int) else str(v)


def _render(df: pd.DataFrame, columns: list[str], *, title: str, top: int,
            totals: dict[str, str]) -> None:
    table = Table(title=title)
    for c in columns:
        numeric = pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        table.add_column(escape(HEADERS.get(c, c)), justify="right" if numeric else "left",
                         overflow="fold", no_wrap=c == "customer_id")
    for row in df[columns].head(top).itertuples(index=False):
        table.add_row(*(escape(_fmt(v.item() if hasattr(v, "item") else v)) for v in row))
    console.print(table)
    console.print("  ".join(f"[bold]{k}[/] {v}" for k, v in totals.items()))


def _as_of(ws: object, as_of: str | None) -> dt.datetime:
    """The given date, or the day after the last order (every order then counts)."""
    from churnguard.timeutil import to_utc

    if as_of is not None:
        cut = to_utc(as_of)
        assert cut is not None
        return cut
    orders = ws.warehouse.table("orders")  # type: ignore[attr-defined]
    last = orders.aggregate(m=orders.ordered_at.max()).to_pandas()["m"].iloc[0]
    if pd.isna(last):
        raise InputError(f"{ws.root}: no orders in the workspace; pass --as-of or ingest "  # type: ignore[attr-defined]
                         "orders first.")
    day = pd.Timestamp(last).tz_convert("UTC").normalize() + pd.Timedelta(days=1)
    return day.to_pydatetime()


def rfm(
    path: WorkspaceArg,
    as_of: AsOf = None,
    bins: Annotated[int, typer.Option(min=2, max=10, help="Quantile bins per score.")] = 5,
    compare: Annotated[str | None, typer.Option(
        help="Also show migrations from the segments as of this earlier date.")] = None,
    out: Out = None,
    top: Top = 15,
) -> None:
    """RFM scores (1-5) and named segments per customer, with segment sizes."""
    from churnguard.value.rfm import migration_matrix, rfm_scores, segment_migrations, segment_sizes
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        cut = _as_of(ws, as_of)
        orders = ws.warehouse.table("orders")
        expr = rfm_scores(orders, as_of=cut, bins=bins)
        df = expr.to_pandas()
        sizes = segment_sizes(expr).to_pandas()
        moves = None
        if compare is not None:
            moves = migration_matrix(segment_migrations(rfm_scores(orders, as_of=compare,
                                                                   bins=bins), expr))
    if df.empty:
        console.print(f"[yellow]no orders before {cut.date()} in[/] {path}")
        return
    shown = df.sort_values(["monetary"], ascending=False)
    cols = ["customer_id", "recency_days", "frequency", "monetary", "rfm_score", "segment"]
    _render(shown, cols, title=f"RFM as of {cut.date()} - {path} (top by monetary)",
            top=top, totals={"customers": f"{len(df):,}",
                             "monetary": f"{df.monetary.sum():,.2f}"})
    seg = Table(title="Segments")
    for c in ("segment", "customers", "share", "monetary"):
        seg.add_column(c, justify="left" if c == "segment" else "right")
    for r in sizes.itertuples(index=False):
        seg.add_row(r.segment, f"{r.customers:,}", f"{r.share:.1%}", f"{r.monetary:,.2f}")
    console.print(seg)
    if moves is not None:
        short = {name: "".join(w[0] for w in name.replace("'", "").split()).upper()
                 for name in [*moves.index, *moves.columns]}
        short.update({"Lost": "LO", "Loyal": "LY", "(new)": "NEW"})
        mt = Table(title=f"Migrations {compare} -> {cut.date()} (rows: from, columns: to)")
        mt.add_column("from \\ to")
        for c in moves.columns:
            mt.add_column(short[str(c)], justify="right")
        for name, row in moves.iterrows():
            mt.add_row(str(name), *(f"{v:,}" for v in row))
        console.print(mt)
        console.print("  ".join(f"{v}={k}" for k, v in short.items() if k in moves.columns))
    _write(df, out)


def clv(
    path: WorkspaceArg,
    as_of: AsOf = None,
    horizon: Annotated[str, typer.Option(help="Horizon: 12m, 1y, 26w ...")] = "12m",
    discount: Annotated[float, typer.Option(help="Annual discount rate.")] = 0.10,
    margin: Annotated[float, typer.Option(help="Profit margin on revenue, in (0, 1].")] = 1.0,
    model: Annotated[str, typer.Option(
        help="bgnbd (orders: BG/NBD + Gamma-Gamma) or sbg (subscriptions).")] = "bgnbd",
    out: Out = None,
    top: Top = 15,
) -> None:
    """CLV per customer: P(alive), expected purchases and spend, risk, priority."""
    from churnguard.value.pipeline import clv_frame, fit_value_models, parse_horizon
    from churnguard.warehouse import Workspace

    check_out(out)
    if model not in ("bgnbd", "sbg"):
        raise InputError(f"--model {model!r}: use bgnbd or sbg.")
    months = parse_horizon(horizon)
    with Workspace.open(path, read_only=True) as ws:
        cut = _as_of(ws, as_of)
        if model == "sbg":
            from churnguard.value.contractual import contractual_clv

            df = contractual_clv(ws, as_of=cut, horizon_months=months,
                                 annual_discount_rate=discount, margin=margin)
            cols = ["customer_id", "period_months", "renewals", "mrr", "churn_probability",
                    "clv", "value_band", "risk_band", "retention_potential", "priority"]
        else:
            models = fit_value_models(ws.warehouse.table("orders"), as_of=cut)
            df = clv_frame(models, horizon_months=months, annual_discount_rate=discount,
                           margin=margin)
            p = models.purchase_model.params_
            console.print("BG/NBD " + ", ".join(f"{k} = {v:.4g}" for k, v in p.items())
                          + "; Gamma-Gamma " + ", ".join(
                              f"{k} = {v:.4g}" for k, v in models.spend_model.params_.items()))
            cols = ["customer_id", "frequency", "p_alive", "expected_purchases", "clv",
                    "churn_probability", "value_band", "risk_band", "retention_potential",
                    "priority"]
    if df.empty:
        console.print(f"[yellow]no customers to value in[/] {path}")
        return
    _render(df, cols, title=f"CLV ({model}, {months} months, {discount:.0%} a year) as of "
                            f"{cut.date()} - priority by expected return",
            top=top, totals={"customers": f"{len(df):,}", "total CLV": f"{df.clv.sum():,.2f}",
                             "expected return": f"{df.expected_return.sum():,.2f}"})
    _write(df, out)


def sltv(
    path: WorkspaceArg,
    as_of: AsOf = None,
    segment_by: Annotated[str, typer.Option(
        help="customers column (or attributes.x) to estimate reactivation by.")] = "plan",
    horizon: Annotated[str, typer.Option(help="Reactivation window: 12m, 1y ...")] = "12m",
    own_weight: Annotated[float, typer.Option(
        help="Weight of the customer's own past value vs peers' second lives.")] = 0.5,
    margin: Annotated[float, typer.Option(help="Profit margin on revenue, in (0, 1].")] = 1.0,
    out: Out = None,
    top: Top = 15,
) -> None:
    """Lost customers graded A-D by second lifetime value."""
    from churnguard.value.pipeline import parse_horizon
    from churnguard.value.sltv import sltv as sltv_of
    from churnguard.warehouse import Workspace

    check_out(out)
    with Workspace.open(path, read_only=True) as ws:
        df = sltv_of(ws, as_of=as_of, segment_by=segment_by,
                     horizon_months=parse_horizon(horizon), own_weight=own_weight,
                     margin=margin)
    if df.empty:
        console.print(f"[yellow]no lost customers in[/] {path}")
        return
    counts = df["grade"].value_counts().reindex(list("ABCD"), fill_value=0)
    cols = ["customer_id", "segment", "reason", "days_lost", "own_value", "p_reactivation",
            "sltv", "grade"]
    _render(df, cols, title=f"Lost customers by SLTV - {path}", top=top,
            totals={"lost customers": f"{len(df):,}", "total SLTV": f"{df.sltv.sum():,.2f}",
                    "grades": " ".join(f"{g}:{n}" for g, n in counts.items())})
    _write(df, out)


def value_report(
    path: WorkspaceArg,
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("value.html"),
    as_of: AsOf = None,
    holdout: Annotated[str, typer.Option(help="Holdout period for the fit check.")] = "26w",
) -> None:
    """Fit diagnostics and plots of the value models as one self-contained HTML file."""
    from churnguard.value.report import value_report as build
    from churnguard.warehouse import Workspace

    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the value report is HTML; name it e.g. value.html")
    text = holdout.strip().lower()
    if not text.endswith("w") or not text[:-1].isdigit():
        raise InputError(f"--holdout {holdout!r}: give whole weeks, e.g. 26w.")
    with Workspace.open(path, read_only=True) as ws:
        cut = _as_of(ws, as_of)
        doc = build(ws, as_of=cut, holdout_weeks=int(text[:-1]))
    out.write_text(doc, encoding="utf-8")
    console.print(f"[green]wrote[/] {out} ({len(doc) / 1e6:.1f} MB, opens offline)")


def register(app: typer.Typer) -> None:
    """Add the value commands to the main ``churnguard`` app."""
    app.command("rfm")(rfm)
    app.command("clv")(clv)
    app.command("sltv")(sltv)
    app.command("value-report")(value_report)
