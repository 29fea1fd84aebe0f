"""recipient guard-rails: confirmation threshold and recipients without access

Revision ID: b7d3e1f09a42
Revises: 65aac842cea4
Create Date: 2026-12-04 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d3e1f09a42'
down_revision = '65aac842cea4'
branch_labels = None
depends_on = None


def upgrade():
    # Server defaults fill the existing rows; the model supplies the same values for new ones.
    with op.batch_alter_table('tenant_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_recipients_above', sa.Integer(), nullable=False, server_default='25'))
        batch_op.add_column(
            sa.Column('recipients_without_access', sa.String(length=8), nullable=False, server_default='warn')
        )


def downgrade():
    with op.batch_alter_table('tenant_settings', schema=None) as batch_op:
        batch_op.drop_column('recipients_without_access')
        batch_op.drop_column('confirm_recipients_above')
