"""The first schema: reports, their locators, outages, server keys.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("subscriber", sa.String(80), nullable=False),
        sa.Column("installation", sa.String(36)),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("digest", sa.String(24), nullable=False),
        sa.Column("ticket", sa.String(64)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_reports_observed_at", "reports", ["observed_at"])
    op.create_index("ix_reports_day_side_code", "reports", ["day", "side", "code"])
    op.create_index("ix_reports_side_observed_at", "reports", ["side", "observed_at"])
    op.create_index("ix_reports_code_observed_at", "reports", ["code", "observed_at"])
    op.create_index("ix_reports_digest_observed_at", "reports", ["digest", "observed_at"])
    op.create_index("ix_reports_ticket_observed_at", "reports", ["ticket", "observed_at"])
    op.create_table(
        "report_locators",
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("locator", sa.String(200), primary_key=True),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("subscriber", sa.String(80), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
    )
    op.create_index("ix_report_locators_locator_observed_at", "report_locators",
                    ["locator", "observed_at"])
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("locator", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime()),
        sa.Column("last_fault_at", sa.DateTime(), nullable=False),
        sa.Column("subscribers", sa.Integer(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("sides", sa.String(16), nullable=False),
    )
    op.create_index("ix_outages_locator_opened_at", "outages", ["locator", "opened_at"])
    op.create_index("ix_outages_closed_at", "outages", ["closed_at"])
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_keys")
    op.drop_table("outages")
    op.drop_table("report_locators")
    op.drop_table("reports")
