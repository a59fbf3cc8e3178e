"""Ingestion as a user relies on it: idempotent, atomic, any encoding, delimiter and format,
UTC timestamps, column mapping, custom attributes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churnguard.errors import ConfigError, InputError
from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import BatchRefused, ingest_file
from conftest import open_workspace

UTC = dt.UTC

CUSTOMERS = (
    "customer_id,signup_at,region,plan,contract_type\n"
    "C001,2024-01-05 09:30:00,north,basic,monthly\n"
    "C002,2024-02-10 14:00:00,south,pro,one year\n"
    "C003,2024-03-15 08:00:00,east,basic,none\n"
)


def query(ws: Workspace, sql: str, params: list | None = None) -> list[tuple]:
    return ws.warehouse.duck.execute(sql, params or []).fetchall()


def counts(r) -> tuple[int, int, int, int]:
    return (r.inserted, r.updated, r.unchanged, r.rejected)


# -- idempotence and upsert ------------------------------------------------------------------
def test_reingesting_the_same_file_changes_nothing(ws, write, table_rows) -> None:
    path = write("customers.csv", CUSTOMERS)
    first = ingest_file(ws, "customers", path)
    assert counts(first) == (3, 0, 0, 0) and first.status == "applied"
    snapshot = table_rows(ws, "customers")
    stamps = query(ws, "SELECT customer_id, _ingested_at FROM customers ORDER BY 1")
    second = ingest_file(ws, "customers", path)
    assert counts(second) == (0, 0, 3, 0)
    assert table_rows(ws, "customers") == snapshot
    assert query(ws, "SELECT customer_id, _ingested_at FROM customers ORDER BY 1") == stamps
    assert query(ws, "SELECT contract_type FROM customers ORDER BY customer_id") == [
        ("month-to-month",),
        ("annual",),
        ("none",),
    ]  # synonyms normalised


def test_a_changed_row_updates_and_absent_columns_stay(ws, write) -> None:
    ingest_file(ws, "customers", write("a.csv", CUSTOMERS))
    r = ingest_file(
        ws, "customers", write("b.csv", "customer_id,plan\nC002,enterprise\nC004,basic\n")
    )
    assert counts(r) == (1, 1, 0, 0)
    rows = query(ws, "SELECT customer_id, region, plan, signup_at FROM customers ORDER BY 1")
    assert rows[1] == ("C002", "south", "enterprise", dt.datetime(2024, 2, 10, 14, tzinfo=UTC))
    assert rows[3] == ("C004", None, "basic", None)
    assert rows[0][2] == "basic"  # rows not in the file are untouched


def test_orders_upsert_by_key(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    orders = (
        "order_id,customer_id,ordered_at,amount\nO1,C001,2024-03-01,10\nO2,C002,2024-03-02,20\n"
    )
    assert counts(ingest_file(ws, "orders", write("o.csv", orders))) == (2, 0, 0, 0)
    assert counts(ingest_file(ws, "orders", write("o.csv", orders))) == (0, 0, 2, 0)
    changed = orders.replace("O2,C002,2024-03-02,20", "O2,C002,2024-03-02,25")
    assert counts(ingest_file(ws, "orders", write("o2.csv", changed))) == (0, 1, 1, 0)
    assert query(ws, "SELECT amount FROM orders WHERE order_id = 'O2'") == [(25.0,)]


# -- atomic batches and quarantine --------------------------------------------------------------
def _thousand_orders(bad_at: int | None) -> str:
    lines = ["order_id,customer_id,ordered_at,amount"]
    for i in range(1, 1001):
        amount = "twelve" if i == bad_at else f"{i}.5"
        lines.append(f"O{i:04d},C00{1 + i % 3},2024-04-01 10:00,{amount}")
    return "\n".join(lines) + "\n"


def test_one_bad_row_in_a_thousand_refuses_the_whole_batch(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    path = write("orders.csv", _thousand_orders(bad_at=500))
    with pytest.raises(
        BatchRefused,
        match=r"1 of 1000 rows.*row 500, column amount, "
        r"value 'twelve'.*rule type",
    ) as info:
        ingest_file(ws, "orders", path)
    assert info.value.exit_code == 1
    assert query(ws, "SELECT count(*) FROM orders") == [(0,)]
    q = query(ws, "SELECT file, row_number, column_name, value, rule, raw_row FROM _quarantine")
    assert len(q) == 1
    file, row, column, value, rule, raw = q[0]
    assert (file, row, column, value, rule) == (str(path), 500, "amount", "twelve", "type")
    assert json.loads(raw)["order_id"] == "O0500"
    log = query(
        ws,
        "SELECT status, rows_read, inserted, rejected FROM _ingest_log WHERE table_name = 'orders'",
    )
    assert log == [("refused", 1000, 0, 1)]


def test_allow_rejects_applies_the_good_rows(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    r = ingest_file(
        ws, "orders", write("orders.csv", _thousand_orders(bad_at=500)), allow_rejects=True
    )
    assert counts(r) == (999, 0, 0, 1) and r.status == "partial"
    assert query(ws, "SELECT count(*) FROM orders WHERE order_id = 'O0500'") == [(0,)]
    assert query(ws, "SELECT count(*) FROM orders") == [(999,)]
    assert query(ws, "SELECT status FROM _ingest_log WHERE table_name = 'orders'") == [("partial",)]


def test_unknown_customer_is_rejected_until_customers_are_loaded(ws, write) -> None:
    path = write("o.csv", "order_id,customer_id,ordered_at,amount\nO1,C001,2024-03-01,10\n")
    with pytest.raises(BatchRefused, match="unknown_customer"):
        ingest_file(ws, "orders", path)
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    assert ingest_file(ws, "orders", path).inserted == 1


# -- encodings and delimiters --------------------------------------------------------------------
CHINESE = (
    "客户编号,注册时间,地区,会员等级\n"
    "00042,2024-01-01 08:00:00,华东,金卡\n"
    "00043,2024-01-02 08:00:00,华北,银卡\n"
)
MAPPING = (
    '[mapping.customers]\n"客户编号" = "customer_id"\n"注册时间" = "signup_at"\n"地区" = "region"\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings_with_chinese_headers_and_mapping(tmp_path: Path, write, encoding) -> None:
    path = write(f"customers-{encoding}.csv", CHINESE, encoding=encoding)
    with open_workspace(tmp_path / "ws", MAPPING) as ws:
        r = ingest_file(ws, "customers", path)
        assert counts(r) == (2, 0, 0, 0)
        assert r.attributes == ["会员等级"]
        rows = query(ws, "SELECT customer_id, region, attributes FROM customers ORDER BY 1")
    assert rows[0][:2] == ("00042", "华东")
    assert json.loads(rows[0][2]) == {"会员等级": "金卡"}


def test_gb18030_only_characters(ws, write) -> None:
    # U+20000 (𠀀) is in GB18030 but not in GBK
    path = write("c.csv", "customer_id,name\nC1,𠀀先生\n", encoding="gb18030")
    ingest_file(ws, "customers", path)
    assert query(ws, "SELECT name FROM customers") == [("𠀀先生",)]


def test_explicit_encoding(ws, write) -> None:
    path = write("c.csv", "customer_id,name\nC1,Zoë\n", encoding="latin-1")
    ingest_file(ws, "customers", path, encoding="latin-1")
    assert query(ws, "SELECT name FROM customers") == [("Zoë",)]


@pytest.mark.parametrize(
    ("delim", "name"), [(";", "c.csv"), ("\t", "c.tsv"), ("|", "c.txt"), (",", "c.csv")]
)
def test_delimiters_are_detected(ws, write, delim, name) -> None:
    text = CUSTOMERS.replace(",", delim)
    r = ingest_file(ws, "customers", write(name, text))
    assert counts(r) == (3, 0, 0, 0)
    assert query(ws, "SELECT region FROM customers ORDER BY customer_id") == [
        ("north",),
        ("south",),
        ("east",),
    ]


def test_explicit_delimiter_and_quoted_fields(ws, write) -> None:
    text = 'customer_id;name;region\nC1;"Smith; John";"north ""x"""\n'
    ingest_file(ws, "customers", write("c.csv", text), delimiter=";")
    assert query(ws, "SELECT name, region FROM customers") == [("Smith; John", 'north "x"')]


# -- formats -------------------------------------------------------------------------------------
def _expected_customers(ws: Workspace) -> None:
    rows = query(
        ws, "SELECT customer_id, signup_at, region, contract_type FROM customers ORDER BY 1"
    )
    assert rows == [
        ("C001", dt.datetime(2024, 1, 5, 9, 30, tzinfo=UTC), "north", "month-to-month"),
        ("C002", dt.datetime(2024, 2, 10, 14, 0, tzinfo=UTC), "south", "annual"),
        ("C003", dt.datetime(2024, 3, 15, 8, 0, tzinfo=UTC), "east", "none"),
    ]


def _customer_table() -> pa.Table:
    return pa.table(
        {
            "customer_id": ["C001", "C002", "C003"],
            "signup_at": pa.array(
                [
                    dt.datetime(2024, 1, 5, 9, 30),
                    dt.datetime(2024, 2, 10, 14),
                    dt.datetime(2024, 3, 15, 8),
                ],
                pa.timestamp("us"),
            ),
            "region": ["north", "south", "east"],
            "contract_type": ["monthly", "one year", "none"],
        }
    )


def test_parquet(ws, tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(_customer_table(), path)
    assert counts(ingest_file(ws, "customers", path)) == (3, 0, 0, 0)
    _expected_customers(ws)
    assert counts(ingest_file(ws, "customers", path)) == (0, 0, 3, 0)


def test_parquet_without_extension_is_detected(ws, tmp_path: Path) -> None:
    path = tmp_path / "export.bin"
    pq.write_table(_customer_table(), path)
    ingest_file(ws, "customers", path)
    _expected_customers(ws)


def test_json_lines(ws, write) -> None:
    lines = [
        {
            "customer_id": "C001",
            "signup_at": "2024-01-05 09:30:00",
            "region": "north",
            "contract_type": "monthly",
        },
        {
            "customer_id": "C002",
            "signup_at": "2024-02-10T14:00:00Z",
            "region": "south",
            "contract_type": "one year",
        },
        {
            "customer_id": "C003",
            "signup_at": "2024-03-15T16:00:00+08:00",
            "region": "east",
            "contract_type": "none",
        },
    ]
    path = write("c.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert counts(ingest_file(ws, "customers", path)) == (3, 0, 0, 0)
    _expected_customers(ws)


def test_excel(ws, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_id", "signup_at", "region", "contract_type", "score"])
    sheet.append(["C001", dt.datetime(2024, 1, 5, 9, 30), "north", "monthly", 3])
    sheet.append(["C002", "2024-02-10 14:00:00", "south", "one year", 4.5])
    sheet.append(["C003", dt.datetime(2024, 3, 15, 8), "east", "none", None])
    path = tmp_path / "c.xlsx"
    book.save(path)
    r = ingest_file(ws, "customers", path)
    assert counts(r) == (3, 0, 0, 0)
    _expected_customers(ws)
    attrs = [json.loads(a) for (a,) in query(ws, "SELECT attributes FROM customers ORDER BY 1")]
    assert attrs == [{"score": 3.0}, {"score": 4.5}, {}]


def test_excel_named_sheet(ws, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["nothing", "here"])
    other = book.create_sheet("客户")
    other.append(["customer_id", "region"])
    other.append(["C9", "west"])
    path = tmp_path / "c.xlsx"
    book.save(path)
    ingest_file(ws, "customers", path, sheet="客户")
    assert query(ws, "SELECT customer_id, region FROM customers") == [("C9", "west")]
    with pytest.raises(InputError, match="no sheet 'missing'"):
        ingest_file(ws, "customers", path, sheet="missing")


def edited_workspace(root: Path, old: str, new: str) -> Workspace:
    """A fresh workspace whose default churnguard.toml has ``old`` replaced by ``new``."""
    Workspace.init(root).close()
    cfg = root / "churnguard.toml"
    text = cfg.read_text(encoding="utf-8")
    assert old in text
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Workspace.open(root)


def shanghai_workspace(root: Path) -> Workspace:
    return edited_workspace(root, 'timezone = "UTC"', 'timezone = "Asia/Shanghai"')


# -- timestamps ----------------------------------------------------------------------------------
def test_timestamps_are_utc(tmp_path: Path, write) -> None:
    text = (
        "customer_id,signup_at\n"
        "N1,2024-01-01 10:00:00\n"  # naive: Asia/Shanghai
        "N2,2024/01/01 10:00\n"
        "N3,2024-01-01\n"
        "Z1,2024-01-01T10:00:00Z\n"
        "P1,2024-01-01T10:00:00+03:30\n"
        "P2,2024-01-01 10:00:00-05:00\n"
        "C1,2024年01月01日\n"
    )
    with shanghai_workspace(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", write("c.csv", text))
        got = dict(query(ws, "SELECT customer_id, signup_at FROM customers"))
    h = dt.timedelta(hours=1)
    assert got["N1"] == dt.datetime(2024, 1, 1, 2, tzinfo=UTC)
    assert got["N2"] == dt.datetime(2024, 1, 1, 2, tzinfo=UTC)
    assert got["N3"] == dt.datetime(2023, 12, 31, 16, tzinfo=UTC)
    assert got["Z1"] == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert got["P1"] == dt.datetime(2024, 1, 1, 10, tzinfo=UTC) - 3.5 * h
    assert got["P2"] == dt.datetime(2024, 1, 1, 15, tzinfo=UTC)
    assert got["C1"] == dt.datetime(2023, 12, 31, 16, tzinfo=UTC)


def test_parquet_timestamps_naive_and_aware(tmp_path: Path) -> None:
    naive = pa.table(
        {
            "customer_id": ["A"],
            "signup_at": pa.array([dt.datetime(2024, 1, 1, 10)], pa.timestamp("ms")),
        }
    )
    aware = pa.table(
        {
            "customer_id": ["B"],
            "signup_at": pa.array(
                [dt.datetime(2024, 1, 1, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    pq.write_table(naive, tmp_path / "a.parquet")
    pq.write_table(aware, tmp_path / "b.parquet")
    with shanghai_workspace(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", tmp_path / "a.parquet")
        ingest_file(ws, "customers", tmp_path / "b.parquet")
        got = dict(query(ws, "SELECT customer_id, signup_at FROM customers"))
    assert got == {
        "A": dt.datetime(2024, 1, 1, 2, tzinfo=UTC),
        "B": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
    }


def test_custom_timestamp_format(tmp_path: Path, write) -> None:
    with edited_workspace(
        tmp_path / "ws", "timestamp_formats = []", 'timestamp_formats = ["%d/%m/%Y"]'
    ) as ws:
        ingest_file(ws, "customers", write("c.csv", "customer_id,signup_at\nA,31/01/2024\n"))
        assert query(ws, "SELECT signup_at FROM customers") == [
            (dt.datetime(2024, 1, 31, tzinfo=UTC),)
        ]


# -- column mapping and columns ------------------------------------------------------------------
def test_mapping_to_an_unknown_column_is_a_config_error(tmp_path: Path, write) -> None:
    path = write("c.csv", "客户编号\nA\n")
    toml = '[mapping.customers]\n"客户编号" = "client_id"\n'
    with (
        open_workspace(tmp_path / "ws", toml) as ws,
        pytest.raises(ConfigError, match=r"'client_id'.*not a column of customers"),
    ):
        ingest_file(ws, "customers", path)


def test_missing_required_column_lists_the_files_columns(ws, write) -> None:
    path = write("o.csv", "id,cust,when,total\n1,C1,2024-01-01,3\n")
    with pytest.raises(
        InputError,
        match=r"missing required column\(s\) order_id, customer_id, "
        r"ordered_at, amount.*the file has: id, cust, when, "
        r"total",
    ) as info:
        ingest_file(ws, "orders", path)
    assert "\n" not in str(info.value)


def test_headers_are_matched_loosely(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", "Customer ID,Signup-At,REGION\nA,2024-01-01,x\n"))
    assert query(ws, "SELECT customer_id, region FROM customers") == [("A", "x")]


def test_unknown_columns_of_event_tables_are_reported_as_ignored(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    r = ingest_file(
        ws,
        "orders",
        write("o.csv", "order_id,customer_id,ordered_at,amount,colour\nO1,C001,2024-01-01,1,red\n"),
    )
    assert r.ignored_columns == ["colour"]


# -- values --------------------------------------------------------------------------------------
def test_custom_attributes_numeric_and_categorical(ws, write) -> None:
    text = 'customer_id,score,tier,zip\nA,1.5,gold,01234\nB,"1,200",silver,\nC,,3,99\n'
    r = ingest_file(ws, "customers", write("c.csv", text))
    assert r.attributes == ["score", "tier", "zip"]
    kinds = dict(query(ws, "SELECT name, kind FROM _attributes"))
    assert kinds == {"score": "numeric", "tier": "categorical", "zip": "categorical"}
    got = {k: json.loads(a) for k, a in query(ws, "SELECT customer_id, attributes FROM customers")}
    assert got["A"]["tier"] == "gold" and got["C"]["tier"] == "3"
    assert got["B"] == {"score": 1200.0, "tier": "silver"}
    assert got["C"] == {"tier": "3", "zip": "99"}
    assert got["A"]["zip"] == "01234"  # a leading zero makes a code, not a number


def test_numeric_attribute_is_a_number(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", "customer_id,visits\nA,3\nB,4.5\nC,\n"))
    got = {k: json.loads(a) for k, a in query(ws, "SELECT customer_id, attributes FROM customers")}
    assert got == {"A": {"visits": 3.0}, "B": {"visits": 4.5}, "C": {}}
    assert query(ws, "SELECT kind FROM _attributes WHERE name = 'visits'") == [("numeric",)]
    # a later file updates one attribute and keeps the others
    ingest_file(ws, "customers", write("d.csv", "customer_id,tier\nA,gold\n"))
    a = json.loads(query(ws, "SELECT attributes FROM customers WHERE customer_id = 'A'")[0][0])
    assert a == {"visits": 3.0, "tier": "gold"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("no", False),
        ("是", True),
        ("否", False),
        ("1", True),
        ("0", False),
        ("TRUE", True),
        ("False", False),
        (" Y ", True),
        ("", None),
    ],
)
def test_churned_words(ws, write, text, value) -> None:
    ingest_file(ws, "customers", write("c.csv", f"customer_id,churned\nA,{text}\n"))
    assert query(ws, "SELECT churned FROM customers") == [(value,)]


def test_churned_with_churned_at(ws, write) -> None:
    text = (
        "customer_id,signup_at,churned,churned_at\nA,2024-01-01,yes,2024-06-01\nB,2024-01-01,no,\n"
    )
    ingest_file(ws, "customers", write("c.csv", text))
    assert query(ws, "SELECT customer_id, churned, churned_at FROM customers ORDER BY 1") == [
        ("A", True, dt.datetime(2024, 6, 1, tzinfo=UTC)),
        ("B", False, None),
    ]


def test_leading_zeros_in_ids_survive(ws, write, tmp_path: Path) -> None:
    ingest_file(ws, "customers", write("c.csv", "customer_id\n007\n0042\n"))
    ingest_file(
        ws,
        "orders",
        write("o.csv", "order_id,customer_id,ordered_at,amount\n000123,007,2024-01-01,1\n"),
    )
    assert query(ws, "SELECT customer_id FROM customers ORDER BY 1") == [("0042",), ("007",)]
    assert query(ws, "SELECT order_id, customer_id FROM orders") == [("000123", "007")]


def test_thousands_separators(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    text = (
        "order_id,customer_id,ordered_at,amount,quantity\n"
        'O1,C001,2024-01-01,"1,234.50","1,000"\n'
        'O2,C001,2024-01-01,"-12,345,678",3\n'
        "O3,C001,2024-01-01, 7 ,2.0\n"
    )
    ingest_file(ws, "orders", write("o.csv", text))
    assert query(ws, "SELECT order_id, amount, quantity FROM orders ORDER BY 1") == [
        ("O1", 1234.5, 1000),
        ("O2", -12345678.0, 3),
        ("O3", 7.0, 2),
    ]


def test_a_malformed_thousands_group_is_a_type_error(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    with pytest.raises(BatchRefused, match="rule type"):
        ingest_file(
            ws,
            "orders",
            write("o.csv", 'order_id,customer_id,ordered_at,amount\nO1,C001,2024-01-01,"12,34"\n'),
        )


def test_status_counts(ws, write) -> None:
    ingest_file(ws, "customers", write("c.csv", CUSTOMERS))
    with pytest.raises(BatchRefused):
        ingest_file(ws, "orders", write("o.csv", _thousand_orders(bad_at=7)))
    ingest_file(ws, "orders", write("o2.csv", _thousand_orders(bad_at=None)))
    status = {s.table: s for s in ws.warehouse.status()}
    assert status["customers"].rows == 3
    assert status["customers"].first_at == dt.datetime(2024, 1, 5, 9, 30, tzinfo=UTC)
    assert status["customers"].last_at == dt.datetime(2024, 3, 15, 8, tzinfo=UTC)
    assert status["orders"].rows == 1000 and status["orders"].rejected_rows == 1
    assert status["orders"].last_ingest_at is not None
    assert status["subscriptions"].rows == 0 and status["subscriptions"].last_ingest_at is None
