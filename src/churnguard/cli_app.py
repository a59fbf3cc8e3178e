"""``churnguard serve | users add | apikey create | report | inbox apply``: the app's commands.

Wired into the main app by ``register(app)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from churnguard.cli_common import console
from churnguard.errors import InputError

WorkspaceArg = Annotated[Path, typer.Argument(help="Workspace folder.", show_default=False)]
PASSWORD_ENV = "CHURNGUARD_PASSWORD"

users_app = typer.Typer(help="Manage the users of the app.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machines.", no_args_is_help=True)
inbox_app = typer.Typer(help="Event batches posted to the API.", no_args_is_help=True)


def _appdb(path: Path):  # type: ignore[no-untyped-def]
    from churnguard.appdb import AppDB
    from churnguard.warehouse import Workspace

    ws = Workspace.open(path, read_only=True)
    return AppDB.for_workspace(ws)


def serve(
    path: WorkspaceArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    database_url: Annotated[str | None, typer.Option(
        help="App database URL (default: [app] database_url, else SQLite in the workspace).")
    ] = None,
    secure_cookies: Annotated[bool, typer.Option(
        help="Mark cookies Secure (behind HTTPS).")] = False,
    refresh: Annotated[bool, typer.Option(
        help="First rebuild the serving tables if the data changed (see app-refresh).")
    ] = True,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Server processes (each reads the warehouse read-only; use "
                            "one per core for throughput).")] = 1,
) -> None:
    """Serve the API at /api (docs at /docs) and the dashboard at / ."""
    import uvicorn

    from churnguard.api.main import ENV_SETTINGS, create_app

    if refresh:
        app_refresh(path, force=False, aggregates=True)

    console.print(f"[green]churnguard[/] serving {path} on http://{host}:{port}/ "
                  f"(API docs: /docs{f'; {workers} processes' if workers > 1 else ''})")
    if workers == 1:
        app = create_app(path, database_url=database_url, secure_cookies=secure_cookies,
                         warm_up=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    # several processes: each builds its own app from the settings passed in the environment
    import json

    os.environ[ENV_SETTINGS] = json.dumps({
        "workspace": str(Path(path).resolve()), "database_url": database_url,
        "secure_cookies": secure_cookies, "warm_up": True,
        "duckdb_threads": max(1, (os.cpu_count() or 1) // workers)})
    uvicorn.run("churnguard.api.main:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="info")


@users_app.command("add")
def users_add(
    path: WorkspaceArg,
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, analyst or owner.")] = "analyst",
    owner_name: Annotated[str | None, typer.Option(
        help="For owners: the value of customers.owner that is theirs.")] = None,
    password: Annotated[str | None, typer.Option(
        help=f"Password (default: ${PASSWORD_ENV}, else asked).")] = None,
) -> None:
    """Add a user who signs in to the dashboard (and may get API keys)."""
    from churnguard.api.accounts import add_user

    secret = password or os.environ.get(PASSWORD_ENV)
    if not secret:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    db = _appdb(path)
    try:
        with db.session() as s:
            add_user(s, username, secret, role=role, owner_name=owner_name)
    finally:
        db.dispose()
    who = f" (owner of customers with owner = {owner_name!r})" if role == "owner" else ""
    console.print(f"[green]added[/] {username} as {role}{who}")


@apikey_app.command("create")
def apikey_create(
    path: WorkspaceArg,
    user: Annotated[str, typer.Option(help="The user the key acts as.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
) -> None:
    """Create an API key; it is printed once, on the last line."""
    from churnguard.api.accounts import create_api_key

    db = _appdb(path)
    try:
        with db.session() as s:
            row, key = create_api_key(s, user, name=name)
            prefix = row.prefix
    finally:
        db.dispose()
    console.print(f"API key {prefix}... for {user}; store it now, it is not shown again:")
    typer.echo(key)


def app_refresh(
    path: WorkspaceArg,
    force: Annotated[bool, typer.Option(help="Rebuild even if they are current.")] = False,
    aggregates: Annotated[bool, typer.Option(
        help="Also compute the dashboard's churn rates, cohorts, survival and segment moves."
    )] = True,
) -> None:
    """Build the tables the API and dashboard read per request (per-customer lookup, ranked
    at-risk list, timelines, totals) for the current data; run after scoring."""
    from churnguard.api.serving import refresh as build
    from churnguard.warehouse import Workspace

    with Workspace.open(path) as ws:
        r = build(ws, force=force, aggregates=aggregates)
    if r.skipped:
        console.print(f"serving tables are current (data version {r.version})")
    else:
        console.print(f"[green]built[/] serving tables for {r.customers:,} customers "
                      f"({r.at_risk:,} at risk, {r.sentences:,} with reason sentences, "
                      f"{r.timeline_rows:,} timeline rows) in {r.seconds:.1f} s")


def report(
    path: WorkspaceArg,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path(
        "churn-report.html"),
    language: Annotated[str, typer.Option(help="en, zh or fa.")] = "en",
    top: Annotated[int, typer.Option(min=1, help="At-risk customers listed.")] = 50,
) -> None:
    """One self-contained HTML report (charts embedded, works offline, prints to PDF)."""
    from churnguard.warehouse import Workspace
    from churnguard.web.report import write_report

    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the report is HTML; name it e.g. churn-report.html")
    with Workspace.open(path, read_only=True) as ws:
        write_report(ws, out, language=language, top=top)
    console.print(f"[green]wrote[/] {out} ({out.stat().st_size / 1e6:.1f} MB)")


@inbox_app.command("apply")
def inbox_apply(path: WorkspaceArg) -> None:
    """Apply the event batches the API queued while another process held the warehouse."""
    from churnguard.warehouse import Workspace
    from churnguard.warehouse.ingest_rows import apply_inbox

    with Workspace.open(path) as ws:
        results = apply_inbox(ws)
    for r in results:
        color = "green" if r["status"] == "applied" else "red"
        console.print(f"[{color}]{r['status']}[/] {r['batch_id']} {r.get('message', '')}",
                      highlight=False)
    if not results:
        console.print("no queued batches")


def register(app: typer.Typer) -> None:
    """Add the app commands to the main ``churnguard`` command."""
    app.command("serve")(serve)
    app.command("app-refresh")(app_refresh)
    app.command("report")(report)
    app.add_typer(users_app, name="users")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(inbox_app, name="inbox")
