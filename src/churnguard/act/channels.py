"""Delivery channels (R27): e-mail, generic webhook, Slack, DingTalk, WeCom and Feishu.

Each channel turns an :class:`AlertMessage` into its documented payload (pure functions,
``*_payload``) and sends it. Every request carries the message's idempotency key: the
``Idempotency-Key`` header (``Message-ID`` and ``X-Idempotency-Key`` for e-mail), the
``idempotency_key`` field of the generic webhook's JSON, and a ``ref:`` line in the robot
messages, so a receiver can drop a repeat after a sender crash.

URLs and secrets come from environment variables named in the TOML (``url_env``,
``secret_env``, ``password_env``); a literal ``url`` is allowed for local tests.

>>> msg = AlertMessage(key="k1", title="[high] complaints rising: C1", lines=["2 complaints"])
>>> dingtalk_payload(msg)["markdown"]["title"]
'[high] complaints rising: C1'
>>> wecom_payload(msg)["msgtype"], feishu_payload(msg)["msg_type"]
('markdown', 'text')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from churnguard.errors import ChurnguardError, ConfigError
from churnguard.warehouse.config import ChannelConfig

USER_AGENT = "churnguard-alerts/1"


class DeliveryError(ChurnguardError):
    """A message could not be delivered; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class AlertMessage:
    """What a channel delivers: a title, lines of (markdown-light) text and the key."""

    key: str
    title: str
    lines: list[str]
    severity: str = "medium"
    #: structured alert for the generic webhook
    data: dict[str, Any] = field(default_factory=dict)

    def text(self, *, markdown: bool = False) -> str:
        """The body as plain text or markdown, ending with the reference line."""
        head = f"**{self.title}**" if markdown else self.title
        body = [f"- {ln}" if markdown and not ln.startswith(("-", "**")) else ln
                for ln in self.lines]
        return "\n".join([head, "", *body, "", f"ref: {self.key}"])


# -- payloads (documented shapes) -------------------------------------------------------
def webhook_payload(msg: AlertMessage) -> dict[str, Any]:
    """Generic JSON webhook: ``{"idempotency_key", "title", "text", "severity", "alert"}``."""
    return {"idempotency_key": msg.key, "title": msg.title, "text": msg.text(),
            "severity": msg.severity, "alert": msg.data}


def slack_payload(msg: AlertMessage, style: str = "text") -> dict[str, Any]:
    """Slack incoming webhook: ``{"text": ...}``, plus Block Kit ``blocks`` for ``card``."""
    out: dict[str, Any] = {"text": msg.text()}
    if style == "card":
        out["blocks"] = [
            {"type": "header", "text": {"type": "plain_text", "text": msg.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": "\n".join(f"• {ln}" for ln in msg.lines)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"ref: {msg.key}"}]},
        ]
    return out


def dingtalk_payload(msg: AlertMessage) -> dict[str, Any]:
    """DingTalk robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``."""
    return {"msgtype": "markdown", "markdown": {"title": msg.title,
                                                "text": msg.text(markdown=True)}}


def wecom_payload(msg: AlertMessage) -> dict[str, Any]:
    """WeCom (企业微信) robot: ``{"msgtype": "markdown", "markdown": {"content"}}``."""
    return {"msgtype": "markdown", "markdown": {"content": msg.text(markdown=True)}}


def feishu_payload(msg: AlertMessage, style: str = "text") -> dict[str, Any]:
    """Feishu / Lark robot: ``{"msg_type": "text", "content": {"text"}}`` or an interactive
    card (``{"msg_type": "interactive", "card": {...}}``)."""
    if style == "card":
        color = {"high": "red", "medium": "orange", "low": "blue"}.get(msg.severity, "blue")
        return {"msg_type": "interactive", "card": {
            "header": {"title": {"tag": "plain_text", "content": msg.title},
                       "template": color},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(
                msg.lines)}}, {"tag": "note", "elements": [
                    {"tag": "plain_text", "content": f"ref: {msg.key}"}]}]}}
    return {"msg_type": "text", "content": {"text": msg.text()}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign``: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-quoted.

    >>> dingtalk_sign("SEC", 1700000000000)
    'r%2B2we0q01lkZqz38LA5IPNbHN81U1leRf3Au4PSQb6Q%3D'
    """
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return urllib.parse.quote_plus(base64.b64encode(mac.digest()).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's ``sign``: base64(HMAC-SHA256(key="timestamp\\nsecret", message=b""))."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# -- channels ----------------------------------------------------------------------------
class Channel:
    """A configured channel; :meth:`send` raises :class:`DeliveryError` on failure."""

    def __init__(self, config: ChannelConfig, *, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.env = os.environ if env is None else env

    @property
    def name(self) -> str:
        return self.config.name

    def _env(self, var: str | None, what: str) -> str | None:
        if var is None:
            return None
        value = self.env.get(var)
        if not value:
            raise ConfigError(f"channel {self.name!r}: environment variable {var} "
                              f"(the {what}) is not set")
        return value

    def url(self) -> str:
        url = self._env(self.config.url_env, "URL") or self.config.url
        if not url:
            raise ConfigError(f"channel {self.name!r} ({self.config.kind}) needs url or "
                              "url_env")
        return url

    def send(self, msg: AlertMessage) -> None:
        kind = self.config.kind
        if kind == "email":
            self._send_email(msg)
            return
        secret = self._env(self.config.secret_env, "signing secret")
        url = self.url()
        headers = {"Idempotency-Key": msg.key}
        if kind == "webhook":
            body = webhook_payload(msg)
        elif kind == "slack":
            body = slack_payload(msg, self.config.style)
        elif kind == "dingtalk":
            body = dingtalk_payload(msg)
            if secret:
                ts = int(time.time() * 1000)
                sep = "&" if "?" in url else "?"
                url = f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
        elif kind == "wecom":
            body = wecom_payload(msg)
        else:  # feishu
            body = feishu_payload(msg, self.config.style)
            if secret:
                ts = int(time.time())
                body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if kind == "webhook" and secret:
            sig = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
            headers["X-Churnguard-Signature"] = f"sha256={sig}"
        reply = post_json(url, data, headers, timeout=self.config.timeout_seconds)
        check_reply(kind, reply)

    def _send_email(self, msg: AlertMessage) -> None:
        cfg = self.config
        if not cfg.host or not cfg.sender or not cfg.to:
            raise ConfigError(f"channel {self.name!r} (email) needs host, sender and to")
        em = EmailMessage()
        em["Subject"] = msg.title
        em["From"] = cfg.sender
        em["To"] = ", ".join(cfg.to)
        em["Message-ID"] = f"<{msg.key}@churnguard>"
        em["X-Idempotency-Key"] = msg.key
        em.set_content(msg.text())
        password = self._env(cfg.password_env, "SMTP password")
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
                if cfg.starttls:
                    smtp.starttls()
                if cfg.username and password:
                    smtp.login(cfg.username, password)
                smtp.send_message(em)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{self.name}: SMTP {exc.smtp_code} {exc.smtp_error!r}",
                                permanent=500 <= exc.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{self.name}: SMTP {cfg.host}:{cfg.port}: {exc}") from None


def post_json(url: str, data: bytes, headers: Mapping[str, str], *,
              timeout: float) -> bytes:
    """POST JSON; 5xx, 429 and network errors are retryable, other 4xx are permanent."""
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
        **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code == 429
        raise DeliveryError(f"{url}: HTTP {exc.code} {exc.reason}",
                            permanent=not retry) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url}: {exc}") from None


def check_reply(kind: str, reply: bytes) -> None:
    """Robots answer HTTP 200 with an error code in the JSON; raise on a non-zero one."""
    if kind not in ("dingtalk", "wecom", "feishu") or not reply.strip():
        return
    try:
        body = json.loads(reply)
    except ValueError:
        return
    code = body.get("errcode", body.get("code", body.get("StatusCode", 0)))
    if code not in (0, None):
        text = body.get("errmsg") or body.get("msg") or body.get("StatusMessage") or ""
        # rate limits (DingTalk 130101, WeCom 45009, Feishu 9499/11232) are worth retrying
        retry = code in (130101, 45009, 9499, 11232)
        raise DeliveryError(f"{kind} robot refused the message: {code} {text}",
                            permanent=not retry)


def build_channels(configs: list[ChannelConfig], *,
                   env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Channels by name (names must be unique)."""
    out: dict[str, Channel] = {}
    for cfg in configs:
        if cfg.name in out:
            raise ConfigError(f"[[channels]] {cfg.name!r} is defined twice")
        out[cfg.name] = Channel(cfg, env=env)
    return out


__all__ = ["AlertMessage", "Channel", "DeliveryError", "build_channels", "check_reply",
           "dingtalk_payload", "dingtalk_sign", "feishu_payload", "feishu_sign",
           "post_json", "slack_payload", "webhook_payload", "wecom_payload"]
