"""The workspace configuration: one ``churnguard.toml`` per workspace, validated.

>>> cfg = WorkspaceConfig.model_validate({"workspace": {"timezone": "Asia/Shanghai"}})
>>> cfg.workspace.timezone
'Asia/Shanghai'
>>> cfg.warehouse.url
'duckdb://warehouse.duckdb'
"""

from __future__ import annotations

import tomllib
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from churnguard.errors import ConfigError

CONFIG_FILE = "churnguard.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Section):
    name: str = "churnguard"
    #: naive timestamps in files are read in this zone, then stored as UTC
    timezone: str = "UTC"
    #: ISO 4217 code of the workspace currency (amounts are in it)
    currency: str = "USD"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'UTC', "
                "'Asia/Shanghai' or 'Asia/Tehran'"
            ) from None
        return value


class WarehouseSection(_Section):
    #: an Ibis backend URL; relative DuckDB paths are relative to the workspace folder
    url: str = "duckdb://warehouse.duckdb"
    #: DuckDB memory limit for ingestion and analytics (spills to disk beyond it)
    memory_limit: str = "4GB"
    threads: int | None = Field(default=None, ge=1)


class IngestSection(_Section):
    #: extra strptime formats tried for timestamps after ISO 8601, e.g. "%d/%m/%Y"
    timestamp_formats: list[str] = Field(default_factory=list)
    #: files bigger than this show a progress bar
    progress_min_bytes: int = 4_000_000


class ChurnSection(_Section):
    """How a churned customer is defined (used by the measure layer)."""

    definition: Literal["auto", "contractual", "non_contractual"] = "auto"
    inactive_days: int = Field(default=180, gt=0)
    grace_days: int = Field(default=0, ge=0)
    #: per-segment overrides, e.g. {"industry = wholesale": {"inactive_days": 90}}
    segments: dict[str, dict[str, int]] = Field(default_factory=dict)


class AppSection(_Section):
    """The app database (users, keys, alerts, cases) and the server."""

    #: SQLAlchemy URL; empty = SQLite file app.db in the workspace
    database_url: str = ""


class RuleConfig(_Section):
    """One warning rule (``[[rules]]``); checked against the features by ``churnguard.act``."""

    name: str = Field(min_length=1)
    #: a boolean expression over feature and model-output names, e.g. "complaints_30d >= 2"
    when: str = ""
    severity: Literal["low", "medium", "high"] = "medium"
    playbook: str | None = None
    #: "owner" (the customer's owner), "best_retention_staff", or a named person or team
    route: str = "owner"
    #: channel names to notify
    notify: list[str] = Field(default_factory=list)
    #: at most one alert per customer and rule within this many days
    cooldown_days: int = Field(default=30, ge=0)
    enabled: bool = True
    description: str = ""


class ChannelConfig(_Section):
    """One delivery channel (``[[channels]]``); secrets come from environment variables."""

    name: str = Field(min_length=1)
    kind: Literal["webhook", "email", "slack", "dingtalk", "wecom", "feishu"]
    url: str | None = None
    #: environment variable holding the URL (wins over ``url``)
    url_env: str | None = None
    #: environment variable holding the signing secret (DingTalk, Feishu, webhook HMAC)
    secret_env: str | None = None
    #: Feishu / Slack: "text" or "card"
    style: Literal["text", "card"] = "text"
    # e-mail (SMTP)
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: language of the alert messages sent to this channel: en, zh or fa
    language: Literal["en", "zh", "fa"] = "en"


class WinbackPlan(_Section):
    """How customers lost for one reason are won back (``[winback.reasons.<reason>]``,
    ``[winback.nurture]``). Keys left out keep churnguard's default for that reason."""

    #: offer (make one), nurture (keep in touch, no offer) or skip (do not pursue)
    action: Literal["offer", "nurture", "skip"] | None = None
    #: name of the offer made (needed when action = "offer")
    offer: str | None = None
    channel: Literal["email", "call", "sms", "chat", "visit", "event", "social", "meeting",
                     "app", "web", "mail"] | None = None
    contact_every_days: int | None = Field(default=None, gt=0)
    duration_days: int | None = Field(default=None, gt=0)


class WinbackFastSave(_Section):
    """Customers cancelling right now (``[winback.fast_save]``): saved before they are lost."""

    #: a cancellation in the last N days, or a subscription ending in the next N days
    days: int = Field(default=14, ge=0)
    channel: Literal["email", "call", "sms", "chat", "visit", "event", "social", "meeting",
                     "app", "web", "mail"] = "call"
    contact_every_days: int = Field(default=2, gt=0)
    #: offer when the reason's plan has none (reason unknown, or a nurture plan)
    offer: str = Field(default="save_call", min_length=1)


class WinbackSection(_Section):
    """The win-back policy (``churnguard winback``; defaults in ``churnguard.act.winback``)."""

    #: SLTV grades that may get an offer; other grades are nurtured instead
    offer_grades: list[Literal["A", "B", "C", "D"]] = ["A", "B", "C"]  # (copied per instance)
    #: at most this many offers, highest SLTV first (0 = no cap); the rest are nurtured
    max_offers: int = Field(default=0, ge=0)
    #: customers lost longer ago than this are not pursued
    max_days_lost: int = Field(default=730, gt=0)
    #: customers with an SLTV at or below this are not pursued
    min_sltv: float = Field(default=0.0, ge=0)
    fast_save: WinbackFastSave = Field(default_factory=WinbackFastSave)
    #: the long-term plan of customers whose reason has no plan of its own (or is unknown)
    nurture: WinbackPlan = Field(default_factory=WinbackPlan)
    #: per reason or sub-reason code (or "unknown"); a sub-reason's plan wins over its reason's
    reasons: dict[str, WinbackPlan] = Field(default_factory=dict)
    #: competitor name as customers write it -> the offer for customers lost to it
    competitors: dict[str, str] = Field(default_factory=dict)

    @field_validator("reasons")
    @classmethod
    def _known_reasons(cls, value: dict[str, WinbackPlan]) -> dict[str, WinbackPlan]:
        from churnguard.contract.reasons import REASON_CODES

        codes = (*REASON_CODES, "unknown")
        for key in value:
            if key not in codes:
                raise ValueError(f"unknown reason {key!r}; use one of {', '.join(codes)}")
        return value


class WorkspaceConfig(_Section):
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    warehouse: WarehouseSection = Field(default_factory=WarehouseSection)
    ingest: IngestSection = Field(default_factory=IngestSection)
    churn: ChurnSection = Field(default_factory=ChurnSection)
    app: AppSection = Field(default_factory=AppSection)
    #: win-back policy (``churnguard winback``)
    winback: WinbackSection = Field(default_factory=WinbackSection)
    #: warning rules (churnguard.act); the built-in defaults apply unless overridden by name
    rules: list[RuleConfig] = Field(default_factory=list)
    #: where alerts are delivered
    channels: list[ChannelConfig] = Field(default_factory=list)
    #: named teams rules route to: {team: [member, ...]} (``route = "<team>"``)
    teams: dict[str, list[str]] = Field(default_factory=dict)
    #: per-table column mapping: {table: {"column in your file": "contract column"}}
    mapping: dict[str, dict[str, str]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WorkspaceConfig:
        """Read and validate ``path``; errors name the file, the key and the fix."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: not found. Create a workspace with `churnguard init {path.parent}`."
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            got = err.get("input")
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise ConfigError(
                f"{path}: [{where}] {err['msg']} (got {got!r}){more}"
            ) from None


DEFAULT_TOML = """\
# churnguard workspace configuration. Every key is optional; these are the defaults.

[workspace]
name = "{name}"
timezone = "UTC"          # naive timestamps in your files are read in this zone, stored as UTC
currency = "USD"

[warehouse]
url = "duckdb://warehouse.duckdb"   # any Ibis backend URL; DuckDB file is relative to this folder
memory_limit = "4GB"

[ingest]
timestamp_formats = []    # extra formats after ISO 8601, e.g. ["%d/%m/%Y", "%m/%d/%Y %H:%M"]

[churn]
definition = "auto"       # contractual, non_contractual, or auto (contractual where there are
                          # subscriptions)
inactive_days = 180       # non-contractual: no order and no interaction for this many days
grace_days = 0            # contractual: days to renew after a subscription ends

# Map your files' column names to the contract, per table, e.g. Chinese headers:
# [mapping.customers]
# "客户编号" = "customer_id"
# "注册时间" = "signup_at"
# "地区" = "region"
"""
