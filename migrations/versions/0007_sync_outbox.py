"""sync outbox

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_pull_state',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('cursor', sa.String(length=80), nullable=True),
    sa.Column('next_pull_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('articles', sa.Integer(), nullable=False),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.Column('withdrawals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sync_pull_state'))
    )

    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=80), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('recovery_event_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_started_at'), ['started_at'], unique=False)

    op.create_table('sync_sender_state',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('breaker_state', sa.String(length=10), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_at', sa.DateTime(), nullable=True),
    sa.Column('cooldown_seconds', sa.Double(), nullable=False),
    sa.Column('last_verified_at', sa.DateTime(), nullable=True),
    sa.Column('verify_requested', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("breaker_state IN ('closed', 'open')", name=op.f('ck_sync_sender_state_breaker_state_known')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sync_sender_state'))
    )

    op.create_table('sync_withdrawal_statuses',
    sa.Column('u_number', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=True),
    sa.Column('pulled_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('u_number', name=op.f('pk_sync_withdrawal_statuses'))
    )

    op.create_table('sync_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('ordering_key', sa.String(length=80), nullable=True),
    sa.Column('parent_key', sa.String(length=36), nullable=True),
    sa.Column('subject_ref', sa.String(length=80), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('requires_review', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('state_changed_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('uncertain', sa.Boolean(), nullable=False),
    sa.Column('send_alone', sa.Boolean(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_owner', sa.String(length=80), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('server_id', sa.String(length=80), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('conflict_server_id', sa.String(length=80), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('supersedes_key', sa.String(length=36), nullable=True),
    sa.Column('superseded_by_key', sa.String(length=36), nullable=True),
    sa.CheckConstraint("channel IN ('app', 'phone', 'email', 'paper')", name=op.f('ck_sync_outbox_channel_known')),
    sa.CheckConstraint("kind IN ('stock_move', 'order', 'outbound_delivery', 'prescription', 'prescription_cancel', 'withdrawal', 'work_order')", name=op.f('ck_sync_outbox_kind_known')),
    sa.CheckConstraint("state <> 'acked' OR server_id IS NOT NULL", name=op.f('ck_sync_outbox_acked_has_server_id')),
    sa.CheckConstraint("state <> 'in_flight' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)", name=op.f('ck_sync_outbox_in_flight_has_lease')),
    sa.CheckConstraint("state IN ('review', 'pending', 'in_flight', 'acked', 'conflict', 'dead', 'blocked', 'resolved', 'cancelled')", name=op.f('ck_sync_outbox_state_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_sync_outbox_attempts_not_negative')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_sync_outbox_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sync_outbox_created_by_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['status_incidents.id'], name=op.f('fk_sync_outbox_incident_id_status_incidents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_sync_outbox_key'))
    )
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sync_outbox_claim', ['state', 'priority', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_sync_outbox_ordering', ['ordering_key', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_parent_key'), ['parent_key'], unique=False)
        batch_op.create_index('ix_sync_outbox_registered_at', ['registered_at'], unique=False)
        batch_op.create_index('ix_sync_outbox_state_changed', ['state', 'state_changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_subject_ref'), ['subject_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_supersedes_key'), ['supersedes_key'], unique=False)
        batch_op.create_index('ix_sync_outbox_waiting', ['ordering_key', 'created_at', 'id'], unique=False, sqlite_where=sa.text("state IN ('review', 'pending', 'in_flight')"), postgresql_where=sa.text("state IN ('review', 'pending', 'in_flight')"))

    op.create_table('sync_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('server_id', sa.String(length=80), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['sync_outbox.id'], name=op.f('fk_sync_attempts_item_id_sync_outbox'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['sync_runs.id'], name=op.f('fk_sync_attempts_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_attempts'))
    )
    with op.batch_alter_table('sync_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_attempts_item_id'), ['item_id'], unique=False)

    op.create_table('sync_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_sync_audit_actor_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['sync_outbox.id'], name=op.f('fk_sync_audit_item_id_sync_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_audit'))
    )
    with op.batch_alter_table('sync_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_audit_item_id'), ['item_id'], unique=False)


def downgrade():
    op.drop_table('sync_audit')
    op.drop_table('sync_attempts')
    op.drop_table('sync_outbox')
    op.drop_table('sync_withdrawal_statuses')
    op.drop_table('sync_sender_state')
    op.drop_table('sync_runs')
    op.drop_table('sync_pull_state')
