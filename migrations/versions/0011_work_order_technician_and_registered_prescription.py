"""reserve items: the technician who took a work order, the local prescription a registered capture became

Revision ID: 0011
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reserve_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('technician_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('taken_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('prescription_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reserve_items_technician_id'), ['technician_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reserve_items_prescription_id'), ['prescription_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reserve_items_technician_id_users'), 'users',
                                    ['technician_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_reserve_items_prescription_id_prescriptions'), 'prescriptions',
                                    ['prescription_id'], ['id'])


def downgrade():
    with op.batch_alter_table('reserve_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reserve_items_prescription_id_prescriptions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_reserve_items_technician_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reserve_items_prescription_id'))
        batch_op.drop_index(batch_op.f('ix_reserve_items_technician_id'))
        batch_op.drop_column('prescription_id')
        batch_op.drop_column('taken_at')
        batch_op.drop_column('technician_id')
