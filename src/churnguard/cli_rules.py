"""``churnguard rules``: the warning rules in force, and how well they flag true churners.

``--evaluate`` works on simulated workspaces only: it scores the rules against the
simulator's ground truth (:mod:`churnguard.act.evaluate`). Wired into the main app by
``register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from churnguard.cli_common import check_out, console, write_frame

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]


def rules(
    path: WorkspaceArg,
    evaluate: Annotated[bool, typer.Option(
        "--evaluate", help="Precision, recall and lift of each rule against the simulator's "
        "ground truth (simulated workspaces only).")] = False,
    as_of: Annotated[list[str] | None, typer.Option(
        "--as-of", help="Date(s) to evaluate at (YYYY-MM-DD); repeat to pool several.")
                     ] = None,
    horizon: Annotated[int, typer.Option(help="Days after as-of in which a churn counts.")
                       ] = 90,
    fit_model: Annotated[bool, typer.Option(
        "--fit-model", help="Fit a churn model with labels known by each as-of date, for "
        "the rules on churn_probability / risk_band (slow).")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the table (.csv, .parquet, "
                                              ".html ...).")] = None,
) -> None:
    """The rules in force (defaults plus the workspace's [[rules]]); with --evaluate, how
    often their alerts go to customers who truly churn."""
    from churnguard.act.evaluate import rule_precision_recall
    from churnguard.act.rules import load_rules
    from churnguard.errors import InputError
    from churnguard.warehouse import Workspace

    check_out(out)
    if not evaluate and (as_of or fit_model):
        raise InputError("--as-of and --fit-model go with --evaluate")
    with Workspace.open(path, read_only=True) as ws:
        loaded = load_rules(ws.config.rules)
        if not evaluate:
            t = Table(title=f"rules ({len(loaded)} enabled)")
            for col in ("rule", "when", "severity", "playbook", "route"):
                t.add_column(col, overflow="fold")
            for r in loaded:
                rc = r.config
                t.add_row(escape(rc.name), escape(rc.when), rc.severity, rc.playbook or "-",
                          rc.route)
            console.print(t)
            return
        if not as_of:
            raise InputError("--evaluate needs --as-of (a date inside the simulated window, "
                             "at least --horizon days before its end), e.g. 2025-12-01")
        table = rule_precision_recall(ws, loaded, as_of, horizon_days=horizon,
                                      fit_model=fit_model)
    a = table.attrs
    dates = ", ".join(str(d.date()) for d in a["as_of"])
    t = Table(title=f"rules vs ground truth as of {dates}, churn within {horizon} days: "
                    f"{a['customers']} customer-dates, {a['churners']} churners, base rate "
                    f"{a['base_rate']:.1%}")
    for col in ("rule", "fired", "true churners", "precision", "recall", "lift"):
        t.add_column(col, justify="left" if col == "rule" else "right")

    def pct(v: float) -> str:
        return "-" if v != v else f"{v:.1%}"

    for row in table.itertuples(index=False):
        t.add_row(escape(row.rule), str(row.fired), str(row.true_positives),
                  pct(row.precision), pct(row.recall),
                  "-" if row.lift != row.lift else f"{row.lift:.2f}x")
    console.print(t)
    for note in a["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if not fit_model and any("no churn model" in n for n in a["notes"]):
        console.print("add --fit-model to judge the model rules with a model fitted on the "
                      "data before each as-of date")
    if out is not None:
        plain = table.copy()
        plain.attrs = {}  # dates and notes are not table metadata Parquet can hold
        write_frame(plain, out)
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``rules`` to the main app."""
    app.command("rules")(rules)
