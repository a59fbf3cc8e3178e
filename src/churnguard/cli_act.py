"""``churnguard run | alerts | cases | case``: the daily pipeline, alerts and retention cases.

Wired into the main app by ``register(app)``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from churnguard.cli_common import console
from churnguard.errors import InputError

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of {text!r} is not a date; write YYYY-MM-DD") from None


def run(
    path: WorkspaceArg,
    as_of: Annotated[str, typer.Option("--as-of", help="Data date (YYYY-MM-DD) or 'today'.")
                     ] = "today",
    deliver: Annotated[bool, typer.Option(help="Send the queued alerts.")] = True,
) -> None:
    """The daily pipeline: drop folder -> labels -> value -> score -> rules -> alerts."""
    from churnguard.act.run import RunError, StepResult, daily_run
    from churnguard.warehouse import Workspace

    colors = {"ok": "green", "skipped": "yellow", "failed": "red"}

    def show(r: StepResult) -> None:
        console.print(f"[{colors[r.status]}]{r.status:>7}[/] {r.name:<15} {r.seconds:6.1f} s  "
                      f"{escape(r.note)}", highlight=False, soft_wrap=True)

    with Workspace.open(path) as ws:
        try:
            report = daily_run(ws, as_of=as_of, deliver_messages=deliver, on_step=show)
        except RunError:
            raise
    total = sum(s.seconds for s in report.steps)
    console.print(f"[green]run done[/] for {report.as_of.date()} in {total:.1f} s")


def alerts(
    path: WorkspaceArg,
    open_only: Annotated[bool, typer.Option("--open", help="Only open alerts.")] = False,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only alerts routed to this person.")
                     ] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Only this day.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    send: Annotated[bool, typer.Option(help="Deliver queued messages first (with retries).")
                    ] = False,
    rules: Annotated[bool, typer.Option("--rules", help="List the rules and exit.")] = False,
) -> None:
    """What fired, for whom, why, and routed to whom."""
    from churnguard.act.alerts import list_alerts
    from churnguard.act.channels import build_channels
    from churnguard.act.outbox import deliver
    from churnguard.act.rules import load_rules
    from churnguard.appdb import AppDB
    from churnguard.warehouse import Workspace

    with Workspace.open(path, read_only=True) as ws:
        cfg = ws.config
        db = AppDB.for_workspace(ws)
    if rules:
        chans = build_channels(cfg.channels)
        t = Table(title="rules")
        for col in ("rule", "when", "severity", "playbook", "route", "notify", "cooldown"):
            t.add_column(col)
        for r in load_rules(cfg.rules, channels=chans):
            rc = r.config
            t.add_row(escape(rc.name), escape(rc.when), rc.severity, rc.playbook or "-",
                      rc.route, ", ".join(rc.notify) or "-", f"{rc.cooldown_days} d")
        console.print(t)
        return
    if send:
        console.print(f"delivery: {deliver(db, build_channels(cfg.channels))}")
    with db.session() as s:
        rows = list_alerts(s, open_only=open_only, rule=rule, assignee=owner,
                           customer_id=customer, as_of=_day(as_of), limit=limit)
        t = Table(title=f"alerts ({len(rows)} shown)")
        for c in ("id", "as of", "customer", "rule", "sev", "why", "at stake", "playbook",
                  "routed to", "case", "status"):
            t.add_column(c, overflow="fold")
        for a in rows:
            sent = sum(m.status == "sent" for m in a.messages)
            status = a.status + (f" ({sent}/{len(a.messages)} sent)" if a.messages else "")
            t.add_row(str(a.id), a.as_of.isoformat(), a.customer_id, escape(a.rule),
                      a.severity, escape("; ".join(a.reasons)),
                      "-" if a.value_at_stake is None else f"{a.value_at_stake:,.0f}",
                      a.playbook or "-", escape(f"{a.assignee} ({a.route})"),
                      str(a.case_id or "-"), status)
    db.dispose()
    console.print(t if rows else "no alerts")


def cases(
    path: WorkspaceArg,
    owner: Annotated[str | None, typer.Option(help="Only cases assigned to this person.")
                     ] = None,
    state: Annotated[str | None, typer.Option(help="open, contacted, saved, lost or "
                                                   "not_churning.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open or contacted cases.")
                         ] = False,
    stats: Annotated[str | None, typer.Option(
        help="Show stats by assignee, playbook or source instead.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """Retention cases and their state (or save rate and time to contact with --stats)."""
    from churnguard.act.cases import case_stats, list_cases
    from churnguard.appdb import AppDB
    from churnguard.warehouse import Workspace

    with Workspace.open(path, read_only=True) as ws:
        db = AppDB.for_workspace(ws)
    with db.session() as s:
        if stats is not None:
            if stats not in ("assignee", "playbook", "source"):
                raise InputError(f"--stats {stats!r}: use assignee, playbook or source")
            df = case_stats(s, by=stats)  # type: ignore[arg-type]
            t = Table(title=f"cases by {stats}")
            for c in df.columns:
                t.add_column(c, justify="left" if c == stats else "right")
            for r in df.itertuples(index=False):
                t.add_row(*[("-" if v is None or v != v else
                             f"{v:.2f}" if isinstance(v, float) else escape(str(v)))
                            for v in r])
            console.print(t)
            return
        rows = list_cases(s, owner=owner, state=state, open_only=open_only, limit=limit)
        t = Table(title=f"cases ({len(rows)} shown)")
        for c in ("id", "customer", "state", "assignee", "playbook", "source", "opened",
                  "first contact", "at stake", "title"):
            t.add_column(c, overflow="fold")
        for c in rows:
            t.add_row(str(c.id), c.customer_id, c.state, escape(c.assignee or "-"),
                      c.playbook or "-", c.source, f"{c.opened_at:%Y-%m-%d}",
                      f"{c.first_contact_at:%Y-%m-%d}" if c.first_contact_at else "-",
                      "-" if c.value_at_stake is None else f"{c.value_at_stake:,.0f}",
                      escape(c.title))
    db.dispose()
    console.print(t if rows else "no cases")


def case(
    path: WorkspaceArg,
    case_id: Annotated[int, typer.Argument(help="Case number.")],
    contacted: Annotated[bool, typer.Option("--contacted", help="Mark as contacted.")
                         ] = False,
    outcome: Annotated[str | None, typer.Option(
        help="Close with saved, lost or not_churning.")] = None,
    note: Annotated[str | None, typer.Option(help="Add a note.")] = None,
    assign: Annotated[str | None, typer.Option(help="Hand over to this person or team.")
                      ] = None,
    reply: Annotated[str | None, typer.Option(help="Record the reply sent to the customer.")
                     ] = None,
    author: Annotated[str | None, typer.Option(help="Who is acting (for the history).")
                      ] = None,
) -> None:
    """Show a case, or update it: --contacted, --outcome, --note, --assign, --reply."""
    from churnguard.act import cases as C
    from churnguard.appdb import AppDB
    from churnguard.warehouse import Workspace

    if outcome is not None and outcome not in ("saved", "lost", "not_churning"):
        raise InputError(f"--outcome {outcome!r}: use saved, lost or not_churning")
    with Workspace.open(path, read_only=True) as ws:
        db = AppDB.for_workspace(ws)
    with db.session() as s:
        c = C.get_case(s, case_id)
        if assign:
            C.assign(s, c, assign, author=author)
        if contacted:
            C.transition(s, c, "contacted", note=note, author=author)
        if outcome:
            C.transition(s, c, outcome, note=note if not contacted else None, author=author)
        if note and not contacted and not outcome:
            C.add_note(s, c, note, author=author)
        if reply:
            C.reply(s, c, reply, author=author)
        s.flush()
        console.print(f"[bold]case {c.id}[/] customer {c.customer_id}: [cyan]{c.state}[/], "
                      f"assigned to {escape(c.assignee or '-')}, playbook "
                      f"{c.playbook or '-'}, opened {c.opened_at:%Y-%m-%d %H:%M}"
                      + (f", outcome measured: stayed 90 days = {c.stayed_90d}"
                         if c.stayed_90d is not None else ""), highlight=False)
        console.print(f"  {escape(c.title)}", highlight=False)
        for e in c.events:
            move = f" {e.state_from or ''}->{e.state_to}" if e.state_to else ""
            who = f" by {escape(e.author)}" if e.author else ""
            console.print(f"  {e.at:%Y-%m-%d %H:%M} {e.kind}{move}{who}: {escape(e.text)}",
                          highlight=False)
    db.dispose()


def register(app: typer.Typer) -> None:
    """Add the act commands to the main app."""
    app.command("run")(run)
    app.command("alerts")(alerts)
    app.command("cases")(cases)
    app.command("case")(case)
