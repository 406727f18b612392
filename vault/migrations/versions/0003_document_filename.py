"""documents keep the uploaded file name; share links count wrong passwords

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
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("filename", sa.String(length=255), nullable=True))
    with op.batch_alter_table("share_links") as batch:
        batch.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("share_links") as batch:
        batch.drop_column("failed_attempts")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("filename")
