"""Delivery cursors (how far each event sink has acknowledged the outbox) and hibernation requests.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "event_cursors",
        sa.Column("sink", sa.String(256), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "hibernations",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("force", sa.Boolean, nullable=False),
        sa.Column("requested_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hibernations")
    op.drop_table("event_cursors")
