"""Smoke tests of ``churnguard rfm | clv | sltv | value-report`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

BIN = Path(sys.executable).parent / "churnguard"
def _env() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("CHURNGUARD_DEBUG", None)
    return env


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          env=_env(), timeout=300, check=False)


@pytest.mark.slow
def test_commands(sim_path: Path, tmp_path: Path) -> None:
    r = run("rfm", sim_path, "--as-of", "2025-10-01", "--compare", "2025-04-01",
            "--out", tmp_path / "rfm.csv")
    assert r.returncode == 0, r.stderr
    assert "Segments" in r.stdout and "customers" in r.stdout and "Migrations" in r.stdout
    df = pd.read_csv(tmp_path / "rfm.csv")
    assert {"customer_id", "r_score", "segment"} <= set(df.columns)

    r = run("clv", sim_path, "--as-of", "2025-10-01", "--horizon", "12m", "--discount", "0.1",
            "--out", tmp_path / "clv.parquet")
    assert r.returncode == 0, r.stderr
    assert "total CLV" in r.stdout and "BG/NBD" in r.stdout
    assert pd.read_parquet(tmp_path / "clv.parquet")["customer_id"].is_unique

    r = run("clv", sim_path, "--model", "sbg", "--as-of", "2025-10-01")
    assert r.returncode == 0, r.stderr
    assert "total CLV" in r.stdout

    r = run("sltv", sim_path, "--out", tmp_path / "sltv.html")
    assert r.returncode == 0, r.stderr
    assert "grades A:" in r.stdout
    assert (tmp_path / "sltv.html").read_text().startswith("<table")

    r = run("value-report", sim_path, "--out", tmp_path / "value.html", "--as-of", "2025-10-01")
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "value.html").read_text()
    assert "Cumulative repeat purchases" in page and "plotly" in page.lower()
    assert "<script src=\"http" not in page.replace("'", "\"")  # self-contained


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("clv", "{ws}", "--horizon", "soon"), "not a duration"),
        (("clv", "{ws}", "--model", "pareto"), "--model"),
        (("rfm", "{ws}", "--out", "x.xlsx"), "unknown output format"),
        (("rfm", "{ws}", "--as-of", "someday"), "not a date"),
        (("sltv", "{missing}"), "not a churnguard workspace"),
    ],
)
def test_bad_input_is_one_line_exit_2(sim_path: Path, tmp_path: Path,
                                      args: tuple[str, ...], message: str) -> None:
    filled = [a.format(ws=sim_path, missing=tmp_path / "nope") for a in args]
    r = run(*filled)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr
