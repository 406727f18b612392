"""documents keep the uploaded file name; share links count wrong passwords; the account directory; settings every instance must agree on

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "window", name=op.f("pk_rate_windows")),
    )
    op.create_index("ix_rate_windows_expires_at", "rate_windows", ["expires_at"])
    op.create_table(
        "deployment_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_deployment_settings")),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("handle", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("roles", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("agency", sa.String(length=128), nullable=True))
        batch.create_index("ix_accounts_handle", ["handle"])
        batch.create_index("ix_accounts_agency", ["agency"])
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("filename", sa.String(length=255), nullable=True))
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_index("ix_rate_windows_expires_at", "rate_windows")
    op.drop_table("rate_windows")
    op.drop_table("deployment_settings")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_agency")
        batch.drop_index("ix_accounts_handle")
        for column in ("agency", "roles", "display_name", "handle"):
            batch.drop_column(column)
    with op.batch_alter_table("share_links") as batch:
        batch.drop_column("failed_attempts")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("filename")
