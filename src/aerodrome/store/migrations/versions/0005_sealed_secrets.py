"""Access keys' secrets are kept sealed: the column grows to hold a sealed secret (Store.migrate
seals the ones an older version kept in the clear).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("secret_access_key", type_=sa.String(256), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.alter_column("secret_access_key", type_=sa.String(64), existing_nullable=False)
