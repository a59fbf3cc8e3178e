"""Loopback servers for the delivery tests: an HTTP webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class HookServer:
    """Records every POST; dedupes by Idempotency-Key like a careful receiver would."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, Received] = field(default_factory=dict)
    #: status codes to answer the next requests with (then 200)
    fail_with: list[int] = field(default_factory=list)
    #: JSON body to answer with (robots reply errcode / code)
    reply: dict[str, Any] = field(default_factory=dict)
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def duplicates(self) -> int:
        return len(self.requests) - len(self.processed)


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    state = HookServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(n) or b"{}")
            parts = urlsplit(self.path)
            rec = Received(parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            if state.delay_seconds:
                time.sleep(state.delay_seconds)
            with state.lock:
                code = state.fail_with.pop(0) if state.fail_with else 200
                if code == 200:
                    state.requests.append(rec)
                    key = rec.headers.get("Idempotency-Key", "")
                    state.processed.setdefault(key, rec)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(state.reply or {"ok": True}).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    state = SmtpServer("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            msg = message_from_bytes(envelope.content)
            state.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            return "250 OK"

    ctl = Controller(Handler(), hostname=state.host, port=state.port)
    ctl.start()
    try:
        yield state
    finally:
        ctl.stop()
