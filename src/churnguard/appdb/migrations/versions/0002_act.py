"""Act layer: alerts, outbox, retention cases and case events.

Revision ID: 0002_act
Revises: 0000_base
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from churnguard.act.models import UTCDateTime

revision = "0002_act"
down_revision = "0000_base"
branch_labels = ("act",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "act_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("playbook", sa.String(100), nullable=True),
        sa.Column("value_at_stake", sa.Float(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("first_contact_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("stayed_90d", sa.Boolean(), nullable=True),
        sa.Column("outcome_measured_at", UTCDateTime(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_cases")),
        sa.UniqueConstraint("source", "source_ref", name=op.f("uq_act_cases_source")),
    )
    op.create_index(op.f("ix_act_cases_customer_id"), "act_cases", ["customer_id"])
    op.create_index(op.f("ix_act_cases_state"), "act_cases", ["state"])
    op.create_index(op.f("ix_act_cases_assignee"), "act_cases", ["assignee"])
    op.create_table(
        "act_case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("state_from", sa.String(20), nullable=True),
        sa.Column("state_to", sa.String(20), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["act_cases.id"], ondelete="CASCADE",
                                name=op.f("fk_act_case_events_case_id_act_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_case_events")),
    )
    op.create_index(op.f("ix_act_case_events_case_id"), "act_case_events", ["case_id"])
    op.create_table(
        "act_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("playbook", sa.String(100), nullable=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("value_at_stake", sa.Float(), nullable=True),
        sa.Column("value_basis", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["act_cases.id"],
                                name=op.f("fk_act_alerts_case_id_act_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_alerts")),
        sa.UniqueConstraint("rule", "customer_id", "as_of", name=op.f("uq_act_alerts_rule")),
    )
    op.create_index(op.f("ix_act_alerts_rule"), "act_alerts", ["rule"])
    op.create_index(op.f("ix_act_alerts_customer_id"), "act_alerts", ["customer_id"])
    op.create_index(op.f("ix_act_alerts_assignee"), "act_alerts", ["assignee"])
    op.create_index(op.f("ix_act_alerts_status"), "act_alerts", ["status"])
    op.create_table(
        "act_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["act_alerts.id"],
                                name=op.f("fk_act_outbox_alert_id_act_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_act_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_act_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_act_outbox_alert_id"), "act_outbox", ["alert_id"])
    op.create_index(op.f("ix_act_outbox_status"), "act_outbox", ["status"])


def downgrade() -> None:
    op.drop_table("act_outbox")
    op.drop_table("act_alerts")
    op.drop_table("act_case_events")
    op.drop_table("act_cases")
