"""messages and access applications

Messages to My page (one delivery row per recipient, attachments on disk), access applications
with their product areas and units, and the single-use link tokens of the access flows.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('change_type', sa.String(length=12), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('new_name', sa.String(length=150), nullable=True),
    sa.Column('hsa_id', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('workplace', sa.String(length=150), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('manager_name', sa.String(length=150), nullable=False),
    sa.Column('manager_email', sa.String(length=254), nullable=False),
    sa.Column('manager_phone', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('missing', sa.String(length=300), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("change_type IS NULL OR change_type IN ('leave', 'return', 'name', 'workplace', 'role')", name=op.f('ck_access_applications_change_type_known')),
    sa.CheckConstraint("kind IN ('new', 'change', 'termination')", name=op.f('ck_access_applications_kind_known')),
    sa.CheckConstraint("role IS NULL OR role IN ('prescriber', 'customer_service', 'hms_staff', 'technician', 'it_staff', 'admin')", name=op.f('ck_access_applications_role_known')),
    sa.CheckConstraint("status IN ('submitted', 'returned', 'approved', 'rejected')", name=op.f('ck_access_applications_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_access_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_applications_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_applications'))
    )
    with op.batch_alter_table('access_applications', schema=None) as batch_op:
        batch_op.create_index('ix_access_applications_status_submitted_at', ['status', 'submitted_at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('recipient_user_id', sa.Integer(), nullable=True),
    sa.Column('recipient_unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recipient_unit_id'], ['prescribing_units.id'], name=op.f('fk_messages_recipient_unit_id_prescribing_units')),
    sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'], name=op.f('fk_messages_recipient_user_id_users')),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_messages_sender_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_sender_id'), ['sender_id'], unique=False)

    op.create_table('access_application_product_areas',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('product_area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['access_applications.id'], name=op.f('fk_access_application_product_areas_application_id_access_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_area_id'], ['product_areas.id'], name=op.f('fk_access_application_product_areas_product_area_id_product_areas')),
    sa.PrimaryKeyConstraint('application_id', 'product_area_id', name=op.f('pk_access_application_product_areas'))
    )
    op.create_table('access_application_units',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['access_applications.id'], name=op.f('fk_access_application_units_application_id_access_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['prescribing_units.id'], name=op.f('fk_access_application_units_unit_id_prescribing_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_id', 'unit_id', name=op.f('pk_access_application_units'))
    )
    op.create_table('access_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=24), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('set_password', 'reset_password', 'complete_application')", name=op.f('ck_access_tokens_purpose_known')),
    sa.ForeignKeyConstraint(['application_id'], ['access_applications.id'], name=op.f('fk_access_tokens_application_id_access_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_access_tokens_token_hash'))
    )
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_tokens_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_access_tokens_user_id_purpose', ['user_id', 'purpose'], unique=False)

    op.create_table('message_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_message_attachments_storage_key'))
    )
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attachments_message_id'), ['message_id'], unique=False)

    op.create_table('message_deliveries',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_deliveries_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id', name=op.f('pk_message_deliveries'))
    )
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_message_deliveries_user_id_read_at', ['user_id', 'read_at'], unique=False)



def downgrade():
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_message_deliveries_user_id_read_at')

    op.drop_table('message_deliveries')
    with op.batch_alter_table('message_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attachments_message_id'))

    op.drop_table('message_attachments')
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_access_tokens_user_id_purpose')
        batch_op.drop_index(batch_op.f('ix_access_tokens_application_id'))

    op.drop_table('access_tokens')
    op.drop_table('access_application_units')
    op.drop_table('access_application_product_areas')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_sender_id'))

    op.drop_table('messages')
    with op.batch_alter_table('access_applications', schema=None) as batch_op:
        batch_op.drop_index('ix_access_applications_status_submitted_at')

    op.drop_table('access_applications')
