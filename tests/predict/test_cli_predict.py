"""CLI smoke tests through a real subprocess: exit 0 and readable output; bad input exits 2
with one line and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from churnguard.predict.train import TrainResult

from .fixtures_predict import SCORE_AS_OF

BIN = Path(sys.executable).parent / "churnguard"
#: the same app with the predict commands registered, for a cli.py that does not yet
_WRAP = ("import sys; from churnguard import cli, cli_predict; "
         "cli_predict.register(cli.app) if 'train' not in "
         "{c.name or c.callback.__name__ for c in cli.app.registered_commands} else None; "
         "sys.argv[0] = 'churnguard'; cli.main()")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WRAP, *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def ws(trained: tuple[Path, TrainResult]) -> Path:
    return trained[0]


def test_entry_point_exists() -> None:
    assert BIN.exists()


def test_models(ws: Path) -> None:
    r = run("models", str(ws))
    assert r.returncode == 0, r.stderr
    assert "v1" in r.stdout and "grade" in r.stdout


def test_score_and_explain(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "risk.csv"
    r = run("score", str(ws), "--as-of", SCORE_AS_OF, "--out", str(out), "--limit", "3")
    assert r.returncode == 0, r.stderr
    assert "scored" in r.stdout and out.exists()
    cid = out.read_text("utf-8").splitlines()[1].split(",")[0]
    r = run("explain", str(ws), cid, "--as-of", SCORE_AS_OF, "--lang", "zh")
    assert r.returncode == 0, r.stderr
    assert cid in r.stdout and "log-odds" in r.stdout


@pytest.mark.parametrize("args, message", [
    (("explain", "{ws}", "NO-SUCH-CUSTOMER", "--as-of", SCORE_AS_OF), "not in the workspace"),
    (("score", "{ws}", "--as-of", "yesterday-ish"), "not a date"),
    (("score", "{ws}", "--out", "risk.xlsx"), "parquet or .csv"),
    (("train", "{ws}", "--horizon", "soon"), "not a duration"),
    (("models", "{ws}/nope"), "not a churnguard workspace"),
])
def test_bad_input_exits_2_without_traceback(ws: Path, args: tuple[str, ...],
                                             message: str) -> None:
    r = run(*(a.format(ws=ws) for a in args))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert message in r.stderr
