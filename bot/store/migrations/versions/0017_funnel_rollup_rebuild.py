"""funnel rollup: built again

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:30:00

An accept a manager later took back now counts as an accept in the funnel (it read as
withdrawn). Days the rollup already holds were counted the old way, and would disagree with
the days read live until one of their leads changed: the rollup's mark is cleared, so the
first report after the upgrade builds it again from the audit log (as after a first install).
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM funnel_rollup_state")


def downgrade() -> None:
    op.execute("DELETE FROM funnel_rollup_state")  # the older rule: built again its way too
