"""calls.caller_tail: the caller's last 4 digits, indexed (the header search by phone
tail), backfilled from `caller`; indexes for the console's pages at a million calls
"""

import sqlalchemy as sa
from alembic import op

from storage.access.privacy import phone_tail

revision: str = "0013"
down_revision: str | None = "0012"
BATCH = 20_000
# Numbers ending in 4 digits (nearly all): their tail is their last 4 characters.
LAST_FOUR = {
    "sqlite": "substr(caller, -4) WHERE caller GLOB '*[0-9][0-9][0-9][0-9]'",
    "postgresql": "right(caller, 4) WHERE caller ~ '[0-9]{4}$'",
}
INDEXES = {  # the console's pages (storage/models_supervision.py)
    "ix_calls_dept_created_at": ("calls", ["dept", "created_at"]),
    "ix_callbacks_board": (
        "callbacks",
        ["state", "dept", "due_at", "rectify_due_at", "call_id", "rating_id"],
    ),
    "ix_callbacks_created_at": ("callbacks", ["created_at"]),
}


def _backfill() -> None:
    """Fill `caller_tail` for the calls there are: one UPDATE for the numbers ending in
    4 digits, then the others (spaces, dashes, too short) a batch of ids at a time."""
    bind = op.get_bind()
    if bind.dialect.name in LAST_FOUR:
        op.execute(f"UPDATE calls SET caller_tail = {LAST_FOUR[bind.dialect.name]}")
    calls = sa.table("calls", sa.column("id"), sa.column("caller"), sa.column("caller_tail"))
    update = (
        sa.update(calls)
        .where(calls.c.id == sa.bindparam("call_id"))
        .values(caller_tail=sa.bindparam("tail"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(calls.c.id, calls.c.caller)
            .where(calls.c.id > last, calls.c.caller.is_not(None), calls.c.caller_tail.is_(None))
            .order_by(calls.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        tails = [{"call_id": r.id, "tail": phone_tail(r.caller)} for r in rows]
        if tails := [t for t in tails if t["tail"]]:
            bind.execute(update, tails)


def upgrade() -> None:
    op.add_column("calls", sa.Column("caller_tail", sa.String(length=4), nullable=True))
    _backfill()
    op.create_index(op.f("ix_calls_caller_tail"), "calls", ["caller_tail"], unique=False)
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)
    deadline = sa.func.coalesce(sa.column("rectify_due_at"), sa.column("due_at"))
    op.create_index("ix_callbacks_deadline", "callbacks", [deadline, sa.column("id")])


def downgrade() -> None:
    op.drop_index("ix_callbacks_deadline", table_name="callbacks")
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_calls_caller_tail"), table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("caller_tail")
