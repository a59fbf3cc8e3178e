"""``churnguard winback``: whom to win back among lost customers, with what, and fast saves.

Prints the plan's counts by action and reason and the first customers to act on; ``--out``
writes the whole list (.csv, .parquet or .html); ``--lang`` writes the ``why`` sentences in
English, Simplified Chinese or Persian. Wired into the main app by ``register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from churnguard.cli_common import check_out, console, write_frame
from churnguard.errors import InputError
from churnguard.timeutil import to_utc

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]


def _cell(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}"
    return escape(str(v))


def winback(
    path: WorkspaceArg,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="As of this date (YYYY-MM-DD): later rows are ignored. "
                        "Default: the latest timestamp in the data.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the whole list to a .csv, .parquet or .html file.")] = None,
    top: Annotated[int, typer.Option(help="Customers to show.", min=0)] = 15,
    fast_saves: Annotated[bool, typer.Option(
        help="List customers cancelling right now first.")] = True,
    segment_by: Annotated[str, typer.Option(
        help="Segment for SLTV (a customers column or attributes.<name>).")] = "plan",
    lang: Annotated[str, typer.Option(
        "--lang", help="Language of the why sentences: en, zh or fa.")] = "en",
) -> None:
    """Win back lost customers by SLTV and reason; fast saves for those cancelling now.

    The policy is the winback section of the workspace's churnguard.toml (docs/winback.md).
    """
    from churnguard.act.winback import check_policy, why_in
    from churnguard.act.winback import winback as plan_winback
    from churnguard.i18n import LANGUAGES
    from churnguard.reasons.training import model_dir
    from churnguard.warehouse import Workspace

    if lang not in LANGUAGES:
        raise InputError(f"--lang {lang!r}: use one of {', '.join(LANGUAGES)}")
    check_out(out)
    to_utc(as_of)  # a bad date fails before any work
    with Workspace.open(path, read_only=True) as ws:
        check_policy(ws.config.winback)
        if not (model_dir(ws) / "reasons.json").exists():
            console.print("[yellow]no saved reason classifier: training one for this run "
                          f"(`churnguard reasons {path} --train` saves it)[/]")
        df = plan_winback(ws, as_of=as_of, fast_saves=fast_saves, segment_by=segment_by)
    df["why"] = why_in(df, lang)
    if df.empty:
        console.print(f"[yellow]no lost or cancelling customers in[/] {path}")
    else:
        counts = pd.crosstab(df["reason"], df["action"])
        t = Table(title=f"Win-back plan - {len(df):,} customers")
        t.add_column("reason")
        for c in counts.columns:
            t.add_column(str(c), justify="right")
        for reason, row in counts.iterrows():
            t.add_row(str(reason), *(f"{int(v):,}" for v in row))
        console.print(t)
        show = df[df["action"] != "skip"].head(top)
        if len(show):
            t = Table(title=f"First {len(show)} to act on")
            for c in ("#", "customer", "action", "offer", "channel", "every", "value", "grade",
                      "reason"):
                t.add_column(c, overflow="fold")
            for r in show.itertuples(index=False):
                value = r.value_at_stake if r.action == "fast_save" else r.sltv
                t.add_row(_cell(r.priority), escape(str(r.customer_id)), r.action,
                          _cell(r.offer), _cell(r.channel), _cell(r.contact_every_days) + " d",
                          _cell(value), _cell(r.grade), _cell(r.sub_reason))
            console.print(t)
            console.print("value: SLTV of lost customers, a year's revenue at stake for fast "
                          "saves. Why, for the first ones:")
            for r in show.head(3).itertuples(index=False):
                console.print(f"  {_cell(r.priority)}. {escape(str(r.customer_id))}: "
                              f"{escape(str(r.why))}", highlight=False)
    if out is not None:
        write_frame(df, out)
        console.print(f"[green]wrote[/] {out} ({len(df):,} rows)")


def register(app: typer.Typer) -> None:
    """Add the winback command to the main ``churnguard`` app."""
    app.command("winback")(winback)
