"""``churnguard users add | apikey create | report | inbox apply`` through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from churnguard import cli_app


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    cli_app.register(app)
    return app


def test_users_and_keys(sim_workspace: Path, tmp_path: Path) -> None:
    ws = tmp_path / "shop"
    shutil.copytree(sim_workspace, ws)
    run = CliRunner().invoke
    app = _app()
    r = run(app, ["users", "add", str(ws), "alice", "--role", "analyst",
                  "--password", "long-enough-1"])
    assert r.exit_code == 0, r.output
    r = run(app, ["users", "add", str(ws), "bob", "--role", "owner", "--owner-name", "Bob Li"],
            env={"CHURNGUARD_PASSWORD": "long-enough-2"})
    assert r.exit_code == 0, r.output
    r = run(app, ["apikey", "create", str(ws), "--user", "alice"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("cg_") and len(key) > 40

    from fastapi.testclient import TestClient

    from churnguard.api import create_app

    application = create_app(ws)
    with TestClient(application) as c:
        assert c.get("/api/me", headers={"Authorization": f"Bearer {key}"}).json()[
            "username"] == "alice"
    application.state.cg.close()
    r = run(app, ["inbox", "apply", str(ws)])
    assert r.exit_code == 0 and "no queued batches" in r.output


def test_report_command(sim_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "churn-report.html"
    r = CliRunner().invoke(_app(), ["report", str(sim_workspace), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 1_000_000  # plotly.js is embedded


def test_worker_processes_build_their_app_from_the_environment(
        sim_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --workers N`` hands create_app's settings to each uvicorn worker by env."""
    import json

    from fastapi.testclient import TestClient

    from churnguard.api.main import ENV_SETTINGS, app_from_env

    monkeypatch.setenv(ENV_SETTINGS, json.dumps({
        "workspace": str(sim_workspace), "database_url": f"sqlite:///{tmp_path / 'w.db'}",
        "secure_cookies": True}))
    app = app_from_env()
    assert app.state.cg.settings.secure_cookies is True
    assert str(app.state.cg.settings.workspace) == str(sim_workspace)
    with TestClient(app) as c:
        assert c.get("/health").json()["status"] == "ok"
        assert c.get("/api/customers").status_code == 401
