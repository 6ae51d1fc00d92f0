"""reserve routine

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reserve_numbers',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reserved_at', sa.DateTime(), nullable=False),
    sa.Column('printed_at', sa.DateTime(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('free', 'printed', 'used')", name=op.f('ck_reserve_numbers_state_known')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_reserve_numbers'))
    )
    with op.batch_alter_table('reserve_numbers', schema=None) as batch_op:
        batch_op.create_index('ix_reserve_numbers_state_number', ['state', 'number'], unique=False)

    op.create_table('reserve_drills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('sandbox', sa.String(length=300), nullable=True),
    sa.CheckConstraint("status IN ('running', 'finished', 'failed')", name=op.f('ck_reserve_drills_status_known')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_reserve_drills_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_drills'))
    )
    op.create_table('reserve_kits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(), nullable=False),
    sa.Column('data_as_of', sa.DateTime(), nullable=True),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_reserve_kits_generated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_kits'))
    )
    with op.batch_alter_table('reserve_kits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_kits_generated_at'), ['generated_at'], unique=False)

    op.create_table('reserve_awaiting_registration',
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('marked_at', sa.DateTime(), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=True),
    sa.Column('main_server_id', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['status_incidents.id'], name=op.f('fk_reserve_awaiting_registration_incident_id_status_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_reserve_awaiting_registration_prescription_id_prescriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('prescription_id', name=op.f('pk_reserve_awaiting_registration'))
    )
    with op.batch_alter_table('reserve_awaiting_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_awaiting_registration_registered_at'), ['registered_at'], unique=False)

    op.create_table('reserve_checklists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('runbook_key', sa.String(length=60), nullable=False),
    sa.Column('runbook_digest', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('base_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('superseded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['status_incidents.id'], name=op.f('fk_reserve_checklists_incident_id_status_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_checklists')),
    sa.UniqueConstraint('incident_id', 'runbook_key', name=op.f('uq_reserve_checklists_incident_id_runbook_key'))
    )
    with op.batch_alter_table('reserve_checklists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_checklists_incident_id'), ['incident_id'], unique=False)

    op.create_table('reserve_kit_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('personal_data', sa.Boolean(), nullable=False),
    sa.Column('patient_count', sa.Integer(), nullable=False),
    sa.Column('patient_ids', sa.Text(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kit_id'], ['reserve_kits.id'], name=op.f('fk_reserve_kit_documents_kit_id_reserve_kits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['prescribing_units.id'], name=op.f('fk_reserve_kit_documents_unit_id_prescribing_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_kit_documents'))
    )
    with op.batch_alter_table('reserve_kit_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_kit_documents_kit_id'), ['kit_id'], unique=False)

    op.create_table('reserve_checklist_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('deadline_minutes', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('automatic', sa.String(length=60), nullable=True),
    sa.Column('note_required', sa.Boolean(), nullable=False),
    sa.Column('not_applicable', sa.Boolean(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_by_system', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['checklist_id'], ['reserve_checklists.id'], name=op.f('fk_reserve_checklist_steps_checklist_id_reserve_checklists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_reserve_checklist_steps_done_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_checklist_steps')),
    sa.UniqueConstraint('checklist_id', 'key', name=op.f('uq_reserve_checklist_steps_checklist_id_key'))
    )
    with op.batch_alter_table('reserve_checklist_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_checklist_steps_checklist_id'), ['checklist_id'], unique=False)

    op.create_table('reserve_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('packages', sa.Integer(), nullable=True),
    sa.Column('responsible_prescriber_id', sa.Integer(), nullable=True),
    sa.Column('work_order_type', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('captured_by_id', sa.Integer(), nullable=False),
    sa.Column('captured_at', sa.DateTime(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('existing_row_id', sa.Integer(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('outbox_key', sa.String(length=36), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=True),
    sa.Column('main_server_id', sa.String(length=80), nullable=True),
    sa.CheckConstraint("channel IN ('phone', 'email', 'paper')", name=op.f('ck_reserve_items_channel_known')),
    sa.CheckConstraint("kind IN ('prescription', 'order', 'stock_move', 'work_order')", name=op.f('ck_reserve_items_kind_known')),
    sa.CheckConstraint("status IN ('captured', 'cancelled')", name=op.f('ck_reserve_items_status_known')),
    sa.CheckConstraint('packages IS NULL OR packages BETWEEN 1 AND 999', name=op.f('ck_reserve_items_packages_sane')),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_reserve_items_article_id_articles')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_reserve_items_cancelled_by_id_users')),
    sa.ForeignKeyConstraint(['captured_by_id'], ['users.id'], name=op.f('fk_reserve_items_captured_by_id_users')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['reserve_items.id'], name=op.f('fk_reserve_items_duplicate_of_id_reserve_items')),
    sa.ForeignKeyConstraint(['existing_row_id'], ['prescription_rows.id'], name=op.f('fk_reserve_items_existing_row_id_prescription_rows')),
    sa.ForeignKeyConstraint(['incident_id'], ['status_incidents.id'], name=op.f('fk_reserve_items_incident_id_status_incidents')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_reserve_items_patient_id_patients')),
    sa.ForeignKeyConstraint(['replaces_id'], ['reserve_items.id'], name=op.f('fk_reserve_items_replaces_id_reserve_items')),
    sa.ForeignKeyConstraint(['responsible_prescriber_id'], ['users.id'], name=op.f('fk_reserve_items_responsible_prescriber_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['prescribing_units.id'], name=op.f('fk_reserve_items_unit_id_prescribing_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_items')),
    sa.UniqueConstraint('number', name=op.f('uq_reserve_items_number'))
    )
    with op.batch_alter_table('reserve_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_items_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reserve_items_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_reserve_items_queue', ['incident_id', 'status', 'priority', 'captured_at'], unique=False)

    op.create_table('reserve_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('caller_type', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['status_incidents.id'], name=op.f('fk_reserve_calls_incident_id_status_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['reserve_items.id'], name=op.f('fk_reserve_calls_item_id_reserve_items')),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_reserve_calls_logged_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_calls'))
    )
    with op.batch_alter_table('reserve_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reserve_calls_at'), ['at'], unique=False)



def downgrade():
    with op.batch_alter_table('reserve_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_calls_at'))

    op.drop_table('reserve_calls')
    with op.batch_alter_table('reserve_items', schema=None) as batch_op:
        batch_op.drop_index('ix_reserve_items_queue')
        batch_op.drop_index(batch_op.f('ix_reserve_items_patient_id'))
        batch_op.drop_index(batch_op.f('ix_reserve_items_incident_id'))

    op.drop_table('reserve_items')
    with op.batch_alter_table('reserve_checklist_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_checklist_steps_checklist_id'))

    op.drop_table('reserve_checklist_steps')
    with op.batch_alter_table('reserve_kit_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_kit_documents_kit_id'))

    op.drop_table('reserve_kit_documents')
    with op.batch_alter_table('reserve_checklists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_checklists_incident_id'))

    op.drop_table('reserve_checklists')
    with op.batch_alter_table('reserve_awaiting_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_awaiting_registration_registered_at'))

    op.drop_table('reserve_awaiting_registration')
    with op.batch_alter_table('reserve_kits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reserve_kits_generated_at'))

    op.drop_table('reserve_kits')
    op.drop_table('reserve_drills')
    with op.batch_alter_table('reserve_numbers', schema=None) as batch_op:
        batch_op.drop_index('ix_reserve_numbers_state_number')

    op.drop_table('reserve_numbers')
