"""Workspaces: creation, config validation, status."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnguard.errors import ConfigError, WorkspaceError
from churnguard.warehouse import Workspace


def test_init_creates_config_and_warehouse(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "shop") as ws:
        assert (tmp_path / "shop" / "churnguard.toml").is_file()
        assert (tmp_path / "shop" / "warehouse.duckdb").is_file()
        assert ws.config.workspace.name == "shop"
        names = {s.table for s in ws.warehouse.status()}
        assert {"customers", "orders", "subscriptions", "interactions", "tickets", "feedback",
                "campaigns", "assignments"} <= names


def test_init_twice_is_an_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "shop").close()
    with pytest.raises(WorkspaceError, match="already a workspace"):
        Workspace.init(tmp_path / "shop")


def test_open_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="churnguard init"):
        Workspace.open(tmp_path)


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[workspace]\ntimezone = 'Mars/Olympus'\n", r"\[workspace.timezone\].*unknown time zone"),
        ("[churn]\ninactive_days = -3\n", r"\[churn.inactive_days\].*greater than 0"),
        ("[chrun]\ninactive_days = 3\n", r"\[chrun\].*Extra inputs"),
        ("[workspace\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, match: str) -> None:
    Workspace.init(tmp_path / "shop").close()
    (tmp_path / "shop" / "churnguard.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        Workspace.open(tmp_path / "shop")


def test_writer_lock_gives_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    Workspace.init(tmp_path / "shop").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from churnguard.warehouse import Workspace
            ws = Workspace.open({str(tmp_path / 'shop')!r}); ws.warehouse.duck
            print('ready', flush=True); time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceError, match="another process"):
            Workspace.open(tmp_path / "shop").warehouse.duck  # noqa: B018
    finally:
        holder.kill()
        holder.wait()
