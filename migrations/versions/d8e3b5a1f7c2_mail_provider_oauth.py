"""mail provider oauth: Microsoft 365 and Google Workspace connections, a wider smtp_mode

Revision ID: d8e3b5a1f7c2
Revises: c4a9f2e61d05
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8e3b5a1f7c2'
down_revision = 'c4a9f2e61d05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant_settings', schema=None) as batch_op:
        # "microsoft365" does not fit the old String(8).
        batch_op.alter_column('smtp_mode', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('ms_tenant_id', sa.String(length=253), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ms_client_id', sa.String(length=36), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ms_mailbox', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ms_client_secret_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('ms_certificate_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('google_mailbox', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('google_key_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('google_key_email', sa.String(length=254), nullable=False, server_default=''))


def downgrade():
    # Provider connections can't be expressed in the old schema: those tenants fall back to the operator's server.
    op.execute("UPDATE tenant_settings SET smtp_mode = 'default' WHERE smtp_mode IN ('microsoft365', 'google')")
    with op.batch_alter_table('tenant_settings', schema=None) as batch_op:
        batch_op.drop_column('google_key_email')
        batch_op.drop_column('google_key_encrypted')
        batch_op.drop_column('google_mailbox')
        batch_op.drop_column('ms_certificate_encrypted')
        batch_op.drop_column('ms_client_secret_encrypted')
        batch_op.drop_column('ms_mailbox')
        batch_op.drop_column('ms_client_id')
        batch_op.drop_column('ms_tenant_id')
        batch_op.alter_column('smtp_mode', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)
