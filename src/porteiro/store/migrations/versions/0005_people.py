"""People, cards, faces, per-device sync status and the audit log.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128)),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("type", sa.String(16), nullable=False, server_default="general"),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("valid_from", sa.Float),
        sa.Column("valid_to", sa.Float),
        sa.Column("doors", sa.Text, nullable=False, server_default='{"*":[0]}'),
        sa.Column("time_sections", sa.Text, nullable=False, server_default="[255]"),
        sa.Column("holiday_schedule", sa.Integer, nullable=False, server_default="255"),
        sa.Column("guest_uses", sa.Integer),
        sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("device_password", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_people"),
        sa.UniqueConstraint("external_id", name="uq_people_external_id"),
    )
    op.create_table(
        "cards",
        sa.Column("card_no", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("card_type", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="normal"),
        sa.PrimaryKeyConstraint("card_no", name="pk_cards"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_cards_user_id_people"),
    )
    op.create_index("ix_cards_user_id", "cards", ["user_id"])
    op.create_table(
        "faces",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_faces"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_faces_user_id_people"),
    )
    op.create_table(
        "sync_status",
        sa.Column("device_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("error_code", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "user_id", name="pk_sync_status"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name="fk_sync_status_device_id_devices"),
    )
    op.create_index("ix_sync_status_state", "sync_status", ["state"])
    op.create_table(
        "audit",
        sa.Column("id", _ID, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")
    op.drop_index("ix_sync_status_state", table_name="sync_status")
    op.drop_table("sync_status")
    op.drop_table("faces")
    op.drop_index("ix_cards_user_id", table_name="cards")
    op.drop_table("cards")
    op.drop_table("people")
