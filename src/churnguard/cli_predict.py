"""The predict commands: ``train``, ``backtest``, ``score``, ``explain``, ``models``.

Wired into the main app by ``register(app)`` (cli.py stays thin). Errors a user can cause
are :class:`~churnguard.errors.ChurnguardError`; the main entry point prints them as one
red line with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from churnguard.cli_common import console
from churnguard.errors import InputError

PathArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
Horizon = Annotated[str, typer.Option(help="Churn horizon after each origin: 90d, 13w, 3m.")]
Lang = Annotated[str, typer.Option(help="Language of the reasons: en, zh or fa.")]


def _f(v: object, digits: int = 3) -> str:
    return "" if v is None or pd.isna(v) else f"{float(v):.{digits}f}"  # type: ignore[arg-type]


def _metrics_table(df: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    cols = ["origin", "model", "customers", "churn_rate", "auc", "pr_auc", "log_loss", "brier",
            "lift_top_decile", "capture_top_decile"]
    for c in cols:
        table.add_column(c.replace("_top_decile", "@10%"),
                         justify="left" if c in ("origin", "model") else "right")
    for r in df.to_dict("records"):
        table.add_row(str(r["origin"]), str(r["model"]), str(r["customers"]),
                      *(_f(r[c]) for c in cols[3:]))
    return table


def _open(path: Path, read_only: bool = False):  # type: ignore[no-untyped-def]
    from churnguard.warehouse import Workspace

    return Workspace.open(path, read_only=read_only)


def train(
    path: PathArg,
    horizon: Horizon = "90d",
    origins: Annotated[int, typer.Option(min=0, max=24,
                                         help="Backtest origins (0: validation only).")] = 3,
    activate: Annotated[bool, typer.Option(help="Activate the model if it earns it.")] = True,
) -> None:
    """Train a churn model, backtest it, register it, and activate it if it beats the best
    simple rule."""
    from churnguard.predict.train import train as run

    with console.status("training ..."), _open(path) as ws:
        r = run(ws, horizon=horizon, origins=origins, activate=activate)
    if r.backtest is not None and not r.backtest.table.empty:
        console.print(_metrics_table(r.backtest.table, f"backtest ({r.backtest.kind})"))
    color = "green" if r.activated else "yellow"
    console.print(f"[{color}]{r.message}[/]", highlight=False)


def backtest(
    path: PathArg,
    horizon: Horizon = "90d",
    origins: Annotated[int, typer.Option(min=1, max=24, help="Rolling origins (or folds).")] = 6,
    step_days: Annotated[int, typer.Option(min=7, help="Days between origins.")] = 30,
    out: Annotated[Path | None, typer.Option(help="Write .csv, .parquet or .html (report).")
                   ] = None,
) -> None:
    """Backtest the model and the baselines on rolling origins: AUC, PR-AUC, log loss,
    Brier, top-decile lift and capture."""
    from churnguard.predict.report import write_report
    from churnguard.predict.train import run_backtest

    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".html"):
        raise InputError(f"{out}: write the backtest as .csv, .parquet or .html")
    with console.status("backtesting ..."), _open(path, read_only=True) as ws:
        bt = run_backtest(ws, horizon=horizon, origins=origins, step_days=step_days)
    console.print(_metrics_table(bt.table, f"backtest ({bt.kind}) - {path}"))
    for note in bt.notes:
        console.print(f"[yellow]{note}[/]")
    if out is not None:
        suffix = out.suffix.lower()
        if suffix == ".csv":
            bt.table.to_csv(out, index=False)
        elif suffix == ".parquet":
            bt.table.to_parquet(out, index=False)
        else:
            write_report(bt, out, title=f"Churn model backtest - {path.name}")
        console.print(f"wrote {out}")


def score(
    path: PathArg,
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD or today.")] = "today",
    out: Annotated[Path | None, typer.Option(help="Write .parquet or .csv.")] = None,
    version: Annotated[str | None, typer.Option(help="Model version (default: active).")
                       ] = None,
    limit: Annotated[int, typer.Option(help="Riskiest rows to print.")] = 10,
    lang: Lang = "en",
    reasons: Annotated[str, typer.Option(
        help="Reasons for: all, at_risk (high and medium band; faster) or none.")] = "all",
) -> None:
    """Score every active customer: probability, risk band, 3 reasons, CLV, expected loss.
    Every run is kept in the warehouse table score_history."""
    from churnguard.i18n import LANGUAGES
    from churnguard.predict.score import score as run

    if lang not in LANGUAGES:
        raise InputError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}")
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"{out}: write scores as .parquet or .csv")
    if reasons not in ("all", "at_risk", "none"):
        raise InputError(f"--reasons {reasons!r}: use all, at_risk or none")
    with console.status("scoring ..."), _open(path) as ws:
        r = run(ws, as_of=as_of, out=out, version=version,
                reasons=reasons)  # type: ignore[arg-type]
        top = None
        if out is not None and limit:
            top = (pd.read_parquet(out) if out.suffix.lower() == ".parquet"
                   else pd.read_csv(out))
        elif r.frame is not None:
            top = r.frame
    if top is not None and len(top) and limit:
        top = top.sort_values("churn_probability", ascending=False).head(limit)
        table = Table(title=f"riskiest customers as of {r.as_of.date()} (model {r.version})")
        for c in ("customer", "probability", "band", "CLV", "expected loss", "main reason"):
            table.add_column(c, justify="right" if c in ("probability", "CLV",
                                                          "expected loss") else "left")
        for row in top.to_dict("records"):
            table.add_row(str(row["customer_id"]), _f(row["churn_probability"]),
                          str(row["risk_band"]), _f(row["clv"], 0), _f(row["expected_loss"], 0),
                          str(row.get(f"reason_1_{lang}") or ""))
        console.print(table)
    console.print(f"[green]scored[/] {r.customers:,} active customers as of {r.as_of.date()} "
                  f"with model {r.version}: {r.bands['high']:,} high, {r.bands['medium']:,} "
                  f"medium, {r.bands['low']:,} low risk" + (f"; wrote {out}" if out else ""))
    for note in r.notes:
        console.print(f"[yellow]{note}[/]")


def explain(
    path: PathArg,
    customer: Annotated[str, typer.Argument(help="Customer id.", show_default=False)],
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD or today.")] = "today",
    lang: Lang = "en",
) -> None:
    """Why this customer is at risk, in words."""
    from churnguard.i18n import LANGUAGES
    from churnguard.predict.score import explain as run

    if lang not in LANGUAGES:
        raise InputError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}")
    with _open(path, read_only=True) as ws:
        e = run(ws, customer, as_of=as_of)
    what = "churn probability" if e["model_kind"] == "lightgbm" else "rule-based risk score"
    console.print(f"[bold]{customer}[/] as of {e['as_of'].date()}: {what} "
                  f"{e['churn_probability']:.1%} ({e['risk_band']} risk, model "
                  f"{e['model_version']})" + ("" if e["active"] else
                                              " - already churned by the definition"))
    shown = False
    for i in (1, 2, 3):
        text = e.get(f"reason_{i}_{lang}")
        if text:
            console.print(f"  {i}. {text}  [dim]({e[f'reason_{i}']})[/]", highlight=False)
            shown = True
    if not shown:
        console.print("  nothing raises this customer's risk above the average")
    groups = ", ".join(f"{g} {v:+.2f}" for g, v in e["groups"][:6])
    unit = "log-odds" if e["model_kind"] == "lightgbm" else "risk points"
    console.print(f"[dim]{unit} by reason group: {groups}[/]")


def models(path: PathArg) -> None:
    """The model registry: versions, data range, metrics, grade, and the active one."""
    from churnguard.predict.registry import ModelRegistry

    with _open(path, read_only=True):  # a clear error if PATH is not a workspace
        pass
    rows = ModelRegistry(path).summaries()
    if not rows:
        console.print(f"no models in {path / 'models'}; train one with "
                      f"`churnguard train {path}`")
        return
    table = Table(title=f"models - {path}")
    for c in ("version", "active", "kind", "horizon", "data from", "data to", "AUC",
              "lift@10%", "grade"):
        table.add_column(c)
    for r in rows:
        table.add_row(r["version"], "*" if r["active"] else "", str(r.get("kind") or ""),
                      f"{r.get('horizon_days') or ''}d", r.get("data_from", ""),
                      r.get("data_to", ""), _f(r.get("auc")), _f(r.get("lift_top_decile"), 2),
                      str(r.get("grade") or ""))
    console.print(table)
    for r in rows:
        if r.get("note"):
            console.print(f"{r['version']}: {r['note']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the predict commands to the main ``churnguard`` app."""
    app.command("train")(train)
    app.command("backtest")(backtest)
    app.command("score")(score)
    app.command("explain")(explain)
    app.command("models")(models)
