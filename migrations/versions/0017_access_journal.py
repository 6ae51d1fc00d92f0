"""the access journal's bookkeeping: how much of each journal file is in access_log

Revision ID: 0017_access_journal
Revises: 0016_mail_outbox
"""
from alembic import op
import sqlalchemy as sa

revision = '0017_access_journal'
down_revision = '0016_mail_outbox'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_journal_files',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('ingested_bytes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_access_journal_files'))
    )


def downgrade():
    op.drop_table('access_journal_files')
