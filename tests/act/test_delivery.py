"""Delivery channels against loopback servers, retries, the outbox and crash exactly-once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from churnguard.act import outbox as outbox_mod
from churnguard.act.alerts import raise_alerts
from churnguard.act.channels import AlertMessage, Channel, build_channels
from churnguard.act.models import Alert, OutboxMessage
from churnguard.act.outbox import deliver
from churnguard.act.rules import evaluate_rules, load_rules
from churnguard.appdb import AppDB
from churnguard.warehouse.config import ChannelConfig, RuleConfig

MSG = AlertMessage(key="cg-abc", title="[high] complaints rising: customer C1",
                   lines=["Why: 3 complaints", "Suggested playbook: service_recovery"],
                   severity="high", data={"customer_id": "C1"})


def make_db(tmp_path: Path) -> AppDB:
    db = AppDB(f"sqlite:///{tmp_path / 'app.db'}")
    db.upgrade()
    return db


def make_alerts(db: AppDB, n: int, notify: list[str], as_of: date = date(2026, 3, 1)) -> None:
    rules = load_rules([RuleConfig(name="complaints", when="complaints_30d >= 1",
                                   notify=notify)], defaults=())
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                          "complaints_30d": [2] * n, "owner": ["Bob Li"] * n,
                          "value_at_stake": [100.0] * n, "value_basis": ["12-month CLV"] * n})
    hits, _ = evaluate_rules(rules, frame)
    raise_alerts(db, hits, frame, as_of)


def chan(kind: str, url: str, **kw: object) -> Channel:
    env = {"SIGN_SECRET": "s3cret", "HOOK_URL": url}
    return Channel(ChannelConfig(name=kind, kind=kind, url_env="HOOK_URL", **kw), env=env)


def test_webhook_payload_header_and_hmac(hook_server) -> None:
    chan("webhook", hook_server.url + "/hook", secret_env="SIGN_SECRET").send(MSG)
    (r,) = hook_server.requests
    assert r.path == "/hook" and r.headers["Idempotency-Key"] == "cg-abc"
    assert r.body["idempotency_key"] == "cg-abc" and r.body["alert"] == {"customer_id": "C1"}
    assert r.body["title"] == MSG.title and "ref: cg-abc" in r.body["text"]
    import json
    raw = json.dumps(r.body, ensure_ascii=False).encode()
    assert r.headers["X-Churnguard-Signature"] == "sha256=" + hmac.new(
        b"s3cret", raw, hashlib.sha256).hexdigest()


def test_slack_text_and_blocks(hook_server) -> None:
    chan("slack", hook_server.url).send(MSG)
    chan("slack", hook_server.url, style="card").send(MSG)
    plain, card = (r.body for r in hook_server.requests)
    assert set(plain) == {"text"} and MSG.title in plain["text"]
    assert card["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                                             "text": MSG.title}}
    assert card["blocks"][1]["text"]["type"] == "mrkdwn"


def test_dingtalk_markdown_and_signature(hook_server) -> None:
    hook_server.reply = {"errcode": 0, "errmsg": "ok"}
    chan("dingtalk", hook_server.url + "/robot/send?access_token=T",
         secret_env="SIGN_SECRET").send(MSG)
    (r,) = hook_server.requests
    assert r.body["msgtype"] == "markdown"
    assert set(r.body["markdown"]) == {"title", "text"}
    assert r.body["markdown"]["title"] == MSG.title
    assert r.query["access_token"] == ["T"]
    ts = r.query["timestamp"][0]
    want = base64.b64encode(hmac.new(b"s3cret", f"{ts}\ns3cret".encode(),
                                     hashlib.sha256).digest()).decode()
    assert r.query["sign"] == [want]  # parse_qs undoes the URL quoting


def test_wecom_markdown(hook_server) -> None:
    hook_server.reply = {"errcode": 0, "errmsg": "ok"}
    chan("wecom", hook_server.url + "/cgi-bin/webhook/send?key=K").send(MSG)
    (r,) = hook_server.requests
    assert r.body == {"msgtype": "markdown", "markdown": {"content": MSG.text(markdown=True)}}


def test_feishu_text_card_and_signature(hook_server) -> None:
    hook_server.reply = {"code": 0, "msg": "success"}
    chan("feishu", hook_server.url, secret_env="SIGN_SECRET").send(MSG)
    chan("feishu", hook_server.url, style="card").send(MSG)
    signed, card = (r.body for r in hook_server.requests)
    assert signed["msg_type"] == "text" and "ref: cg-abc" in signed["content"]["text"]
    want = base64.b64encode(hmac.new(f"{signed['timestamp']}\ns3cret".encode(), b"",
                                     hashlib.sha256).digest()).decode()
    assert signed["sign"] == want
    assert card["msg_type"] == "interactive"
    assert card["card"]["header"]["title"]["content"] == MSG.title
    assert card["card"]["header"]["template"] == "red"


def test_email_over_smtp(smtp_server) -> None:
    cfg = ChannelConfig(name="mail", kind="email", host=smtp_server.host,
                        port=smtp_server.port, sender="alerts@shop.test",
                        to=["ops@shop.test", "bob@shop.test"])
    Channel(cfg, env={}).send(MSG)
    (sender, rcpts, msg), = smtp_server.messages
    assert sender == "alerts@shop.test" and rcpts == ["ops@shop.test", "bob@shop.test"]
    assert msg["Subject"] == MSG.title
    assert msg["Message-ID"] == "<cg-abc@churnguard>" and msg["X-Idempotency-Key"] == "cg-abc"
    assert "Suggested playbook: service_recovery" in msg.get_payload()


def test_missing_env_secret_is_a_clear_error() -> None:
    from churnguard.errors import ConfigError

    c = Channel(ChannelConfig(name="ops", kind="webhook", url_env="NOPE_URL"), env={})
    with pytest.raises(ConfigError, match="NOPE_URL"):
        c.send(MSG)


def test_retries_with_backoff_then_sent(tmp_path: Path, hook_server) -> None:
    db = make_db(tmp_path)
    make_alerts(db, 1, ["ops"])
    hook_server.fail_with = [503, 500]
    chans = build_channels([ChannelConfig(name="ops", kind="webhook", url=hook_server.url)])
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        time.sleep(s)

    rep = deliver(db, chans, base_delay_seconds=0.05, max_wait_seconds=5, sleep=sleep)
    assert rep.sent == 1 and rep.pending == 0
    with db.session() as s:
        (m,) = s.query(OutboxMessage).all()
        assert m.status == "sent" and m.attempts == 3
    assert len(waits) == 2 and waits[1] > waits[0]  # 0.05 then 0.1: exponential
    assert len(hook_server.requests) == 1


def test_permanent_refusal_and_robot_error_are_dead(tmp_path: Path, hook_server) -> None:
    db = make_db(tmp_path)
    make_alerts(db, 2, ["ops"])
    hook_server.fail_with = [400]
    chans = build_channels([ChannelConfig(name="ops", kind="dingtalk", url=hook_server.url)])
    hook_server.reply = {"errcode": 310000, "errmsg": "keywords not in content"}
    rep = deliver(db, chans, base_delay_seconds=0.01)
    assert rep.dead == 2 and rep.sent == 0
    with db.session() as s:
        errs = " | ".join(m.last_error or "" for m in s.query(OutboxMessage))
        assert "HTTP 400" in errs and "310000 keywords not in content" in errs


def test_outbox_written_in_the_alert_transaction(tmp_path: Path, monkeypatch) -> None:
    db = make_db(tmp_path)

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("crash while queueing")

    monkeypatch.setattr("churnguard.act.alerts.enqueue", boom)
    with pytest.raises(RuntimeError):
        make_alerts(db, 3, ["ops"])
    with db.session() as s:
        assert s.query(Alert).count() == 0 and s.query(OutboxMessage).count() == 0
    monkeypatch.setattr("churnguard.act.alerts.enqueue", outbox_mod.enqueue)
    make_alerts(db, 3, ["ops"])
    with db.session() as s:
        assert s.query(Alert).count() == 3 and s.query(OutboxMessage).count() == 3


SENDER = textwrap.dedent("""
    import sys
    from churnguard.act.channels import build_channels
    from churnguard.act.outbox import deliver
    from churnguard.appdb import AppDB
    from churnguard.warehouse.config import ChannelConfig
    db = AppDB(sys.argv[1])
    chans = build_channels([ChannelConfig(name="ops", kind="webhook", url=sys.argv[2])])
    print(deliver(db, chans, lease_seconds=0.5, max_wait_seconds=10), flush=True)
""")


@pytest.mark.slow
def test_killed_sender_restarts_and_every_alert_arrives_exactly_once(
        tmp_path: Path, hook_server) -> None:
    n = 30
    db = make_db(tmp_path)
    make_alerts(db, n, ["ops"])
    hook_server.delay_seconds = 0.03
    script = tmp_path / "sender.py"
    script.write_text(SENDER)
    args = [sys.executable, str(script), db.url, hook_server.url]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(hook_server.requests) < n // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)  # mid-batch, possibly between send and "sent"
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    got_before = len(hook_server.requests)
    assert 0 < got_before < n
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with db.session() as s:
        keys = {m.idempotency_key for m in s.query(OutboxMessage)}
        assert {m.status for m in s.query(OutboxMessage)} == {"sent"}
    assert set(hook_server.processed) == keys  # every alert arrived ...
    assert len(hook_server.processed) == n  # ... exactly once after receiver-side dedupe
    assert hook_server.duplicates <= 1  # at most the one in flight at the kill was resent
