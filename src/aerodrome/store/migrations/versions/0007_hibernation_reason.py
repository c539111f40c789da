"""Why an environment hibernated: NULL when asked for (a call or a schedule), `idle` when idle sleep put
it to sleep, so only those wake on a request or before their next run.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    with op.batch_alter_table("hibernations") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hibernations") as batch:
        batch.drop_column("reason")
