"""audit: unsequenced queue, signed head, actor pseudonyms

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:40:00.000000

The batched log (issue 12): services append to `audit_queue` in their own transaction; the integrator sequences
it into `audit_entries` and keeps the latest signed tree head in `audit_head`. Entries name actors by pseudonym
(`actor_ref`, issue 9): the filter column of entries written before this revision held the actor's subject in
clear, so it is emptied (their canonical bytes are signed evidence and stay as they are).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_queue',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('queued_us', sa.BigInteger(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_queue')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('tree_size', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head')),
    )
    op.execute("UPDATE audit_entries SET actor_subject = NULL")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_subject'))
        batch_op.alter_column('actor_subject', new_column_name='actor_ref', existing_type=sa.String(length=256))
        batch_op.add_column(sa.Column('queue_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_ref'), ['actor_ref'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_queue_id'), ['queue_id'])


def downgrade() -> None:
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_queue_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_ref'))
        batch_op.drop_column('queue_id')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('actor_ref', new_column_name='actor_subject', existing_type=sa.String(length=256))
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_subject'), ['actor_subject'], unique=False)
    op.drop_table('audit_head')
    op.drop_table('audit_queue')
