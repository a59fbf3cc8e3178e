"""``churnguard reasons`` and ``churnguard experiment``: why customers leave, what retained them.

Wired into the main app by ``register(app)`` (cli.py stays thin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from churnguard.cli_common import check_out, console, write_frame
from churnguard.errors import InputError

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option(
    help="Also write the main table to a .csv, .parquet or .html file.")]


def write(df: pd.DataFrame, out: Path) -> None:
    """Write a frame as CSV, Parquet or HTML (by the file's suffix)."""
    check_out(out)
    write_frame(df, out)
    console.print(f"[green]wrote[/] {out}")


def _fmt(value: object, col: str, percent: tuple[str, ...] = ()) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        if col in percent or col in ("share", "reason_share", "confidence", "treated_retention",
                   "control_retention", "macro_f1", "macro_f1_at_threshold", "coverage"):
            return f"{value:.1%}"
        if col in ("lift", "low", "high", "retention_change", "lift_change"):
            return f"{100 * value:+.1f} pp"
        if col == "p_value":
            return f"{value:.3f}"
        return f"{value:,.2f}"
    return str(value)


def table(df: pd.DataFrame, title: str, *, columns: list[str] | None = None,
          percent: tuple[str, ...] = ()) -> Table:
    """A frame as a Rich table (percent, percentage points and numbers formatted)."""
    cols = columns or list(df.columns)
    t = Table(title=title)
    for c in cols:
        numeric = pd.api.types.is_numeric_dtype(df[c]) if c in df else False
        t.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for row in df[cols].itertuples(index=False):
        t.add_row(*(_fmt(v, c, percent) for v, c in zip(row, cols, strict=True)))
    return t


def reasons(
    path: WorkspaceArg,
    train: Annotated[bool, typer.Option("--train", help="(Re)train the text classifier from "
                                        "labelled feedback and save it.")] = False,
    classify: Annotated[Path | None, typer.Option(
        help="Classify a CSV with a `text` column (needs --out).")] = None,
    by: Annotated[str | None, typer.Option(
        help="Also break reasons down by a customers column or attributes.<name>.")] = None,
    months: Annotated[int, typer.Option(help="Months shown in the trend.")] = 12,
    nps: Annotated[bool, typer.Option(help="Include NPS / CSAT comments (customers who "
                                      "stay) besides exit feedback.")] = False,
    out: OutOpt = None,
) -> None:
    """Why customers leave: taxonomy breakdown, trend by month, examples of what they said."""
    from churnguard import reasons as R
    from churnguard.warehouse import Workspace

    check_out(out)
    if classify is not None:
        if out is None:
            raise InputError("--classify needs --out labelled.csv (or .parquet / .html)")
        if not classify.is_file():
            raise InputError(f"{classify}: no such file")
        try:
            df = pd.read_csv(classify)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{classify}: cannot read as CSV ({exc})") from exc
        if "text" not in df.columns:
            raise InputError(f"{classify}: no `text` column (columns: {', '.join(df.columns)})")
        with Workspace.open(path, read_only=True) as ws:
            model = R.load_model(ws)
        res = model.classify(df["text"].tolist())
        df = df.drop(columns=[c for c in res.columns if c in df.columns]).join(res)
        console.print(table(R.reason_shares(res, level="sub_reason"),
                            f"{len(df):,} texts classified (model {model.model_id_})"))
        write(df, out)
        return
    if train:
        with Workspace.open(path) as ws:
            result = R.train(ws)
        console.print(table(result.evaluation, f"hold-out by customer "
                                               f"(model {result.model.model_id_})"))
        console.print(f"[green]saved[/] {result.path} ({result.model.n_train_:,} texts, "
                      f"{len(result.model.vocabulary_):,} n-grams)")
        return
    with Workspace.open(path) as ws:
        model = R.load_model(ws, train_if_missing=True)
        sources = (*R.CHURN_SOURCES, "nps", "csat") if nps else R.CHURN_SOURCES
        mentions = R.reason_mentions(ws, model, sources=sources)
        per = R.churn_reasons(mentions)
        seg = R.with_segment(per, ws, by) if by else None
    if per.empty:
        console.print(f"[yellow]no churn reasons or exit feedback in[/] {path}")
        return
    breakdown = R.taxonomy_breakdown(per)
    console.print(table(breakdown, f"Why customers leave - {len(per):,} churners "
                                   f"(structured {int((per.method == 'structured').sum()):,}, "
                                   f"from text {int((per.method == 'model').sum()):,})"))
    trend = _wide(R.reason_shares(per, by="month"), "month", per).tail(months)
    console.print(table(trend, "Reason shares by month (churners counted once a month)",
                        percent=tuple(c for c in trend.columns if c not in ("month", "n"))))
    if seg is not None and by:
        wide = _wide(R.reason_shares(seg, by=by), by, seg)
        console.print(table(wide, f"Reason shares by {by}",
                            percent=tuple(c for c in wide.columns if c not in (by, "n"))))
    ex = R.examples(mentions)
    if len(ex):
        console.print(table(ex, "What they said (most confident example per sub-reason)",
                            columns=["sub_reason", "language", "confidence", "text"]))
    if out is not None:
        write(per, out)


def _wide(shares: pd.DataFrame, key: str, per: pd.DataFrame) -> pd.DataFrame:
    """Shares long -> one row per ``key`` with a column per main reason and the count ``n``."""
    wide = shares.pivot_table(index=key, columns="reason", values="share", fill_value=0.0)
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    wide.insert(1, "n", per.groupby(key).size().reindex(wide[key]).to_numpy())
    return wide


def _resolve_mde(mde: float | None) -> float | None:
    return None if mde is None else (mde / 100 if abs(mde) >= 1 else mde)


def experiment(
    path: WorkspaceArg,
    campaign: Annotated[str | None, typer.Argument(
        help="Campaign id, name or start month (campaign-YYYY-MM). Omit for all campaigns, "
             "period over period.", show_default=False)] = None,
    by: Annotated[str | None, typer.Option(
        help="Lift per segment: a customers column or attributes.<name>.")] = None,
    method: Annotated[str, typer.Option(help="Interval: newcombe, wald or bootstrap.")] =
        "newcombe",
    level: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    mde: Annotated[float | None, typer.Option(
        help="Plan the next campaign: minimum detectable lift (0.05 or 5 = 5 pp).")] = None,
    baseline: Annotated[float | None, typer.Option(
        help="Planning: control retention (default: this campaign's control arm).")] = None,
    power: Annotated[float, typer.Option(help="Planning: power.")] = 0.8,
    out: OutOpt = None,
) -> None:
    """Did it work? Retention lift over the control arm with a confidence interval."""
    from churnguard.act import experiments as E
    from churnguard.warehouse import Workspace

    check_out(out)
    if method not in E.METHODS:
        raise InputError(f"--method {method}: use one of {', '.join(E.METHODS)}")
    rate = baseline
    if campaign is None and (mde is None or baseline is None):
        with Workspace.open(path, read_only=True) as ws:
            df = E.campaign_periods(ws, level=level)
        cols = ["campaign_id", "name", "period", "n_treated", "n_control", "treated_retention",
                "control_retention", "lift", "low", "high", "p_value", "nps_treated",
                "nps_control", "retention_change", "undetermined"]
        console.print(table(df, f"Campaigns period over period - {path}", columns=cols)
                      if len(df) else f"[yellow]no campaigns in[/] {path}")
        if out is not None and len(df):
            write(df, out)
    elif campaign is not None:
        with Workspace.open(path, read_only=True) as ws:
            res = E.experiment(ws, campaign, by=by, level=level, method=method)  # type: ignore[arg-type]
        c, r = res.campaign, res.retention
        verdict = ("[green]worked[/]" if r.low > 0 else "[red]hurt retention[/]" if r.high < 0
                   else "[yellow]no clear effect[/]")
        console.print(f"[bold]{c['campaign_id']}[/] {c.get('name') or ''} ({c.get('goal')}): "
                      f"lift {100 * r.diff:+.1f} pp, {level:.0%} CI [{100 * r.low:+.1f}, "
                      f"{100 * r.high:+.1f}] pp ({method}), p = {r.p_value:.3f} -> {verdict}")
        df = res.to_frame()
        console.print(table(df, f"Retention {E.HORIZON_DAYS} days after assignment"))
        rv = res.revenue
        if pd.notna(rv["revenue_lift"]):
            console.print(f"revenue per assignee: {rv['revenue_lift']:+,.2f} "
                          f"[{rv['revenue_low']:+,.2f}, {rv['revenue_high']:+,.2f}]; net of "
                          f"cost ({rv['cost_per_treated']:,.2f} per treated): "
                          f"{rv['net_lift']:+,.2f} [{rv['net_low']:+,.2f}, {rv['net_high']:+,.2f}]")
        if res.undetermined:
            console.print(f"[yellow]{res.undetermined:,} assignees have no outcome yet[/] "
                          f"(window not over): the readout is partial and leans to early churn")
        rate = baseline if baseline is not None else r.control_rate
        if out is not None:
            write(df, out)
    effect = _resolve_mde(mde)
    if effect is not None and rate is not None:
        n = E.sample_size(rate, effect, alpha=1 - level, power=power)
        console.print(f"next campaign: {n:,} per arm to detect {100 * effect:+.1f} pp on a "
                      f"{rate:.1%} baseline ({level:.0%} confidence, {power:.0%} power)")


def register(app: typer.Typer) -> None:
    """Add the reasons and experiment commands to the main ``churnguard`` app."""
    app.command("reasons")(reasons)
    app.command("experiment")(experiment)
