"""Schedules: cron expressions that hibernate, resume or snapshot an environment.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("environment", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("cron", sa.String(256), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("keep", sa.Integer, nullable=True),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("last_fired", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("schedules")
