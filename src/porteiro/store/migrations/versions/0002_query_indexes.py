"""Indexes for the event API's filters: card, kind and per-device pages by id.

The API lists events newest first by id, so the filters most used on their own
(device, kind, card) get an index that ends in (or is answered with) the id.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_card", "events", ["card_no"])
    op.create_index("ix_events_kind_id", "events", ["kind", "id"])
    op.create_index("ix_events_device_id_id", "events", ["device_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_device_id_id", table_name="events")
    op.drop_index("ix_events_kind_id", table_name="events")
    op.drop_index("ix_events_card", table_name="events")
