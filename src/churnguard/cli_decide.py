"""``churnguard target``: the uplift-aware retention plan under a budget.

Wired into the main app by ``register(app)`` (cli.py stays thin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from churnguard.cli_common import check_out, console, write_frame
from churnguard.errors import InputError

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]


def target(
    path: WorkspaceArg,
    budget: Annotated[float, typer.Option(help="Most the plan may commit (cost if every "
                                                "chosen customer accepts).")],
    offers: Annotated[Path, typer.Option(help="Offers TOML file (see examples/offers.toml).")],
    out: Annotated[Path | None, typer.Option(
        help="Write the plan to a .csv, .parquet or .html file.")] = None,
    report: Annotated[Path | None, typer.Option(
        help="Write an HTML report (Qini curves, segments, offers).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Data date (YYYY-MM-DD); default: the end of the data.")] = None,
    method: Annotated[str, typer.Option(
        help="Uplift: risk (churn probability x the offer's relative effect in its "
             "campaigns; needs a churn model), t (T-learner) or x (X-learner).")] = "risk",
    min_uplift: Annotated[float, typer.Option(
        help="Least retention uplift (0.05 = 5 pp) worth paying for.")] = 0.05,
    solver: Annotated[str, typer.Option(help="exact (integer programme) or greedy.")
                      ] = "exact",
    evaluate: Annotated[bool, typer.Option(
        help="Simulated workspaces: compare with the oracle on the ground truth.")] = False,
) -> None:
    """Whom to save and with what: uplift x value - cost, one offer each, within the budget."""
    from churnguard.act.offers import load_offers
    from churnguard.act.target import known_names, plan
    from churnguard.act.uplift import METHODS
    from churnguard.warehouse import Workspace

    check_out(out)
    if report is not None and report.suffix.lower() != ".html":
        raise InputError(f"{report}: the report is HTML; name it *.html")
    if method not in METHODS:
        raise InputError(f"--method {method!r}: use {', '.join(METHODS)}")
    if solver not in ("exact", "greedy"):
        raise InputError(f"--solver {solver!r}: use exact or greedy")
    if not budget >= 0:
        raise InputError(f"--budget {budget}: must be a number >= 0")
    with Workspace.open(path, read_only=True) as ws:
        parsed = load_offers(offers, known_names(ws))  # fail on a bad file before any work
        with console.status("learning uplift from past campaigns and choosing ..."):
            result = plan(ws, budget, parsed, as_of=as_of, method=method,  # type: ignore[arg-type]
                          min_uplift=min_uplift, solver=solver)
        evaluation = None
        if evaluate:
            from churnguard.act.target import evaluate_on_truth

            evaluation = evaluate_on_truth(result, ws.truth_dir)
    f = result.frame
    console.print(
        f"[green]plan[/] as of {result.as_of:%Y-%m-%d}: {len(f):,} customers, committed "
        f"{result.spent:,.2f} of {result.budget:,.2f}, expected cost "
        f"{f['expected_cost'].sum():,.2f}, expected value saved {f['value_saved'].sum():,.2f}, "
        f"expected profit [bold]{result.expected_profit:,.2f}[/] ({result.solver})",
        highlight=False)
    t = Table(title="by offer")
    for c in ("offer", "customers", "committed", "expected profit", "mean uplift"):
        t.add_column(c, justify="left" if c == "offer" else "right")
    for name, g in f.groupby("offer", sort=True):
        t.add_row(str(name), f"{len(g):,}", f"{g['cost'].sum():,.2f}",
                  f"{g['expected_profit'].sum():,.2f}", f"{100 * g['uplift'].mean():+.1f} pp")
    console.print(t)
    segs = result.customers["segment"].value_counts()
    console.print("segments: " + ", ".join(f"{k} {v:,}" for k, v in segs.items()),
                  highlight=False)
    for n in result.notes:
        console.print(f"[yellow]note:[/] {n}", highlight=False)
    if evaluation is not None:
        console.print(
            f"true incremental profit: plan {evaluation['plan_true_profit']:,.0f}, oracle "
            f"{evaluation['oracle_true_profit']:,.0f} ({evaluation['plan_vs_oracle']:.0%}), "
            f"highest churn probability {evaluation['highest_risk_true_profit']:,.0f}",
            highlight=False)
    if out is not None:
        write_frame(f, out)
        console.print(f"[green]wrote[/] {out}")
    if report is not None:
        from churnguard.act.target_report import write_report

        write_report(result, report, evaluation=evaluation)
        console.print(f"[green]wrote[/] {report}")


def register(app: typer.Typer) -> None:
    """Add the decide commands to the main app."""
    app.command("target")(target)
