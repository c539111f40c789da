"""Join tokens for remote worker hosts (only the SHA-256 of each secret is kept).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.create_table(
        "worker_tokens",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("environment", sa.String(80), nullable=False, index=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.Column("host", sa.String(128), nullable=True),
        sa.Column("joined_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("worker_tokens")
