"""Per-day counts for the measure (report_days), filled from the reports already stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("side", sa.String(8), primary_key=True),
        sa.Column("code", sa.String(3), primary_key=True),
        sa.Column("shard", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("reports", sa.Integer(), nullable=False),
    )
    # Servers of the previous version must be stopped while this runs (they do not count).
    op.execute("INSERT INTO report_days (day, side, code, shard, reports) "
               "SELECT day, side, code, 0, count(*) FROM reports GROUP BY day, side, code")


def downgrade() -> None:
    op.drop_table("report_days")
