"""calls.transport_ref (the transport's own id for the call) and turns.audio_ms (where in the
caller's audio stream the turn ended and was decided)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("transport_ref", sa.String(100)))
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("audio_ms", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("audio_ms")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("transport_ref")
