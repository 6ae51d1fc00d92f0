"""driftinfo life: valid until, withdrawal

Revision ID: 0010
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('status_driftinfo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_status_driftinfo_withdrawn_by_id_users'), 'users',
                                    ['withdrawn_by_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_status_driftinfo_withdrawal_has_reason'),
                                         'withdrawn_at IS NULL OR withdrawal_reason IS NOT NULL')


def downgrade():
    with op.batch_alter_table('status_driftinfo', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_status_driftinfo_withdrawal_has_reason'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_status_driftinfo_withdrawn_by_id_users'), type_='foreignkey')
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('valid_until')
