"""Temporary credentials from STS, and trust rules: a policy document's kind (`identity`, or
`trust` for who may assume a principal as a role).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="identity"))
    op.create_table(
        "session_credentials",
        sa.Column("access_key_id", sa.String(32), primary_key=True),
        sa.Column("secret_access_key", sa.String(256), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False, index=True),
        sa.Column("role_session", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("kind")
    op.drop_table("session_credentials")
