"""Malformed input gives one line naming the file (exit code 2), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnguard.errors import ChurnguardError, InputError
from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import ingest_file
from churnguard.warehouse.readers import MAX_LINE_BYTES

CHURNGUARD = Path(sys.executable).with_name("churnguard")

#: name -> file content; each must be refused with an InputError naming the file
MALFORMED: dict[str, bytes] = {
    "empty.csv": b"",
    "truncated.csv": b'customer_id,name\nC1,"Smith\nC2,Jones\n',
    "truncated_at_end.csv": b'customer_id,name\nC1,Smith\nC2,"Jon',
    "binary.csv": bytes(range(256)) * 40,
    "latin1.csv": "customer_id,name\nC1,Zoë Ñúñez\n".encode("latin-1") + b"\xff\x80\n",
    "huge_field.csv": b"customer_id,name\nC1," + b"x" * (MAX_LINE_BYTES + 10) + b"\n",
    "huge_quoted.csv": b'customer_id,name\nC1,"' + b"x" * (MAX_LINE_BYTES + 10) + b'"\n',
    "ragged_long.csv": b"customer_id,name\nC1,a,b\nC2,c\n",
    "ragged_short.csv": b"customer_id,name\nC1,a\nC2\nC3,b\n",
    "ragged_semicolon.csv": b"customer_id;name\nC1;a;b\nC2\n",
    "bad_utf16.csv": b"\xff\xfe" + "customer_id,name\nC1,a\n".encode("utf-16-le") + b"\x00",
    "not_parquet.parquet": b"PAR1 this is not really parquet",
    "broken.jsonl": b'{"customer_id": "C1"}\n{"customer_id": \n',
    "not_excel.xlsx": b"PK\x03\x04 not a zip at all",
    "gzip_garbage.csv": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + os.urandom(64),
}


def test_latin1_bytes_are_invalid_in_utf8_and_gb18030() -> None:
    data = MALFORMED["latin1.csv"]
    for enc in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(enc)


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_file_is_one_line_input_error(ws: Workspace, write, name: str) -> None:
    path = write(name, MALFORMED[name])
    with pytest.raises(InputError) as info:
        ingest_file(ws, "customers", path)
    msg = str(info.value)
    assert str(path) in msg
    assert "\n" not in msg
    assert info.value.exit_code == 2
    assert ws.warehouse.row_count("customers") == 0
    # the connection is still usable and no staging table is left behind
    temps = ws.warehouse.duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall()
    assert temps == []


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("empty.csv", "the file is empty"),
        ("truncated.csv", "quoted field is never closed"),
        ("truncated_at_end.csv", "quoted field is never closed"),
        ("binary.csv", "not a text file"),
        ("latin1.csv", "not readable as utf-8 or gb18030"),
        ("huge_field.csv", "longer than the limit"),
        ("ragged_long.csv", "line 2.*as many fields as the header"),
        ("ragged_short.csv", "line 3.*as many fields as the header"),
    ],
)
def test_malformed_messages_say_what_is_wrong(ws: Workspace, write, name: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        ingest_file(ws, "customers", write(name, MALFORMED[name]))


def test_header_only_is_zero_rows(ws: Workspace, write) -> None:
    for text in ("customer_id,name\n", "customer_id,name"):
        r = ingest_file(ws, "customers", write("h.csv", text))
        assert (r.rows_read, r.inserted, r.status) == (0, 0, "applied")


def test_a_folder_and_a_missing_file(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"{tmp_path}: is a folder"):
        ingest_file(ws, "customers", tmp_path)
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        ingest_file(ws, "customers", tmp_path / "nope.csv")


def test_unknown_table_and_format(ws: Workspace, write) -> None:
    path = write("c.csv", "customer_id\nC1\n")
    with pytest.raises(InputError, match=r"unknown table 'custmers'.*Did you mean customers"):
        ingest_file(ws, "custmers", path)
    with pytest.raises(InputError, match="unknown format 'xml'"):
        ingest_file(ws, "customers", path, fmt="xml")


def test_a_good_file_after_a_bad_one_still_loads(ws: Workspace, write) -> None:
    with pytest.raises(InputError):
        ingest_file(ws, "customers", write("t.csv", MALFORMED["truncated.csv"]))
    assert ingest_file(ws, "customers", write("c.csv", "customer_id\nC1\n")).inserted == 1


# -- through the command line -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "ws"
    Workspace.init(root).close()
    return root


CLI_CASES = [
    "empty.csv",
    "truncated.csv",
    "binary.csv",
    "latin1.csv",
    "huge_field.csv",
    "ragged_long.csv",
    "bad_utf16.csv",
    "not_parquet.parquet",
    "not_excel.xlsx",
]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_malformed_exits_2_without_traceback(
    cli_workspace: Path, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(MALFORMED[name])
    proc = subprocess.run(
        [str(CHURNGUARD), "ingest", str(cli_workspace), "customers", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith("error:")
    assert name in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("args", [["nope.csv"], ["."]])
def test_cli_missing_file_and_folder(cli_workspace: Path, tmp_path: Path, args) -> None:
    target = tmp_path / args[0] if args[0] != "." else tmp_path
    proc = subprocess.run(
        [str(CHURNGUARD), "ingest", str(cli_workspace), "customers", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(target.name) in proc.stderr


# -- property: garbage never escapes as anything but a ChurnguardError ----------------------------
_cells = st.text(alphabet=st.sampled_from(list("ab1,;\t|\"\n\r 中\\'x0.-:")), max_size=12)
_headers = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "customer_id",
                "signup_at",
                "churned",
                "loyalty_points",
                "rowid",
                "_row",
                "",
                "客户",
                "a b",
            ]
        ),
        _cells,
    ),
    min_size=1,
    max_size=5,
)


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "text", "table"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "text":
        return draw(st.text(max_size=300)).encode(
            draw(st.sampled_from(["utf-8", "utf-16", "gb18030"]))
        )
    header = draw(_headers)
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = draw(st.lists(st.lists(_cells, min_size=0, max_size=6), max_size=6))
    lines = [delim.join(header)] + [delim.join(r) for r in rows]
    return "\n".join(lines).encode()


@pytest.fixture(scope="module")
def fuzz_workspace(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    with Workspace.init(root) as ws:
        yield ws


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=csv_texts(), suffix=st.sampled_from([".csv", ".txt", ".jsonl", ""]))
def test_garbage_only_raises_churnguard_errors(
    fuzz_workspace: Workspace, tmp_path_factory, content: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("g") / f"garbage{suffix}"
    path.write_bytes(content)
    try:
        ingest_file(fuzz_workspace, "customers", path, allow_rejects=True)
    except ChurnguardError as exc:
        assert "\n" not in str(exc), str(exc)
    temps = fuzz_workspace.warehouse.duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
    ).fetchall()
    assert temps == []
