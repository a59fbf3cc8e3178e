"""The server's read-only warehouse handle lets writing commands in.

A writer in another process (``churnguard score``, ``ingest``, ``app-refresh``) must get
the warehouse while a dashboard server runs: the server lets go when idle or when asked,
and when it cannot, the writer's error names the server and its pid instead of DuckDB's
lock message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fastapi import HTTPException

from churnguard.api.warehouse_access import WarehouseHandle
from churnguard.warehouse import Workspace, sharing

WRITE = textwrap.dedent("""
    import sys
    from churnguard.errors import ChurnguardError
    from churnguard.warehouse import Workspace
    try:
        with Workspace.open(sys.argv[1]) as ws:
            ws.warehouse.duck.execute("CREATE TABLE written_by_other AS SELECT 42 AS x")
            hold = float(sys.argv[2]) if len(sys.argv) > 2 else 0
            if hold:
                print("holding", flush=True)
                import time; time.sleep(hold)
    except ChurnguardError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
""")


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    ws = Workspace.init(tmp_path / "shop")
    ws.close()
    return ws.root.resolve()


def handle(root: Path, **kw: float) -> WarehouseHandle:
    return WarehouseHandle(root, Workspace.open(root).config, **kw)


def write(root: Path, *args: str, wait: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHURNGUARD_LOCK_WAIT": str(wait)}
    return subprocess.run([sys.executable, "-c", WRITE, str(root), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_idle_server_lets_go(root: Path) -> None:
    h = handle(root, idle_seconds=0.3)
    try:
        with h.reader() as ws:
            assert ws.warehouse.duck.execute("SELECT 1").fetchone() == (1,)
        assert h.is_open() and sharing.holder(root) == os.getpid()
        deadline = time.monotonic() + 10
        while h.is_open() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not h.is_open()
        assert sharing.holder(root) is None
    finally:
        h.close()


def test_writer_gets_in_while_server_holds_the_warehouse(root: Path) -> None:
    h = handle(root, idle_seconds=600)  # would hold it for ten minutes if not asked
    try:
        with h.reader() as ws:
            ws.warehouse.duck.execute("SELECT 1").fetchone()
            epoch = ws.epoch  # type: ignore[attr-defined]
        assert h.is_open()
        done = write(root)
        assert done.returncode == 0, done.stderr
        # the next request reopens and sees the other process's write
        with h.reader() as ws:
            assert ws.warehouse.duck.execute(
                "SELECT x FROM written_by_other").fetchone() == (42,)
            assert ws.epoch > epoch  # type: ignore[attr-defined]
    finally:
        h.close()


def test_writer_error_names_the_server_when_it_cannot_let_go(root: Path) -> None:
    h = handle(root, idle_seconds=600)
    inside, leave = threading.Event(), threading.Event()

    def long_request() -> None:
        with h.reader() as ws:
            ws.warehouse.duck.execute("SELECT 1").fetchone()
            inside.set()
            leave.wait(60)

    t = threading.Thread(target=long_request)
    t.start()
    try:
        assert inside.wait(30)
        done = write(root, wait=1)
        assert done.returncode == 1
        assert f"the dashboard server (pid {os.getpid()}) has the warehouse open" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        leave.set()
        t.join()
        h.close()
    assert sharing.release_requested(root) is None  # the writer cleaned up after itself


def test_requests_wait_then_answer_503_while_a_writer_works(root: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITE, str(root), "5"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        h = handle(root, busy_wait=0.5)
        t0 = time.monotonic()
        with pytest.raises(HTTPException) as err, h.reader():
            pass
        assert err.value.status_code == 503
        assert "the warehouse is busy" in str(err.value.detail)
        assert time.monotonic() - t0 >= 0.5
        proc.wait(timeout=60)
        with h.reader() as ws:  # the writer is done: served again
            assert ws.warehouse.duck.execute(
                "SELECT x FROM written_by_other").fetchone() == (42,)
        h.close()
    finally:
        proc.kill()
