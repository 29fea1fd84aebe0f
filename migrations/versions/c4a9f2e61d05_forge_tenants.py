"""forge tenants: which door installed a tenant, and a Forge installation's id

Revision ID: c4a9f2e61d05
Revises: b7d3e1f09a42
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a9f2e61d05'
down_revision = 'b7d3e1f09a42'
branch_labels = None
depends_on = None


def upgrade():
    # Every existing tenant came through the Connect door; the server default says so for their rows.
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('door', sa.String(length=8), nullable=False, server_default='connect'))
        batch_op.add_column(sa.Column('installation_id', sa.String(length=255), nullable=True))


def downgrade():
    # Forge tenants can't be Connect tenants: they go, with everything they own (ON DELETE CASCADE).
    op.execute("DELETE FROM tenant WHERE door = 'forge'")
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('installation_id')
        batch_op.drop_column('door')
