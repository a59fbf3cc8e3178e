"""Users, roles, API keys, browser sessions and the audit log.

Revision ID: 0001_auth
Revises: 0000_base
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_auth"
down_revision = "0000_base"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_user")),
        sa.UniqueConstraint("username", name=op.f("uq_auth_user_username")),
    )
    op.create_table(
        "auth_api_key",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_api_key")),
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"], ondelete="CASCADE",
                                name=op.f("fk_auth_api_key_user_id_auth_user")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_auth_api_key_key_hash")),
    )
    op.create_index(op.f("ix_auth_api_key_user_id"), "auth_api_key", ["user_id"])
    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sa.ForeignKeyConstraint(["user_id"], ["auth_user.id"], ondelete="CASCADE",
                                name=op.f("fk_auth_session_user_id_auth_user")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_session_token_hash")),
    )
    op.create_index(op.f("ix_auth_session_user_id"), "auth_session", ["user_id"])
    op.create_table(
        "auth_audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_audit_log")),
    )
    op.create_index(op.f("ix_auth_audit_log_at"), "auth_audit_log", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_audit_log_at"), table_name="auth_audit_log")
    op.drop_table("auth_audit_log")
    op.drop_index(op.f("ix_auth_session_user_id"), table_name="auth_session")
    op.drop_table("auth_session")
    op.drop_index(op.f("ix_auth_api_key_user_id"), table_name="auth_api_key")
    op.drop_table("auth_api_key")
    op.drop_table("auth_user")
