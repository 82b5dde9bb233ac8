import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from agentdeck.demo.desk import DeskError, Order, SentEmail
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.store import Store, migrate
from agentdeck.store._models import ServiceStateRow


@pytest.fixture
def desk(engine):  # type: ignore[no-untyped-def]
    desk = SqlDesk(Store(engine))
    desk.seed()
    return desk


def test_the_seeded_orders_are_there_and_seeding_again_changes_nothing(desk):
    desk.seed()
    order = desk.order("2077")
    assert (order.amount_cents, order.customer_email) == (23000, "lee@example.com")
    with pytest.raises(DeskError, match="no order"):
        desk.order("9999")


def test_a_refund_under_one_key_happens_once_and_survives_in_the_store(desk):
    key = uuid.uuid4().hex
    first = desk.create_refund("3001", 100, "damaged", key=key)
    assert desk.create_refund("3001", 100, "damaged", key=key) == first
    assert first in desk.refunds()
    cancelled = desk.cancel_refund(first.refund_id, "customer kept it")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "customer kept it")
    assert desk.cancel_refund(first.refund_id, "again") == cancelled


def test_sending_an_email_twice_under_one_key_delivers_twice(desk):
    key = uuid.uuid4().hex
    desk.send_email("dana@example.com", "Hi", "Your refund", key=key)
    again = desk.send_email("dana@example.com", "Hi", "Your refund", key=key)
    assert again.deliveries == 2
    assert again in desk.sent_emails()


def test_the_desk_rows_kept_in_the_shared_state_table_move_into_its_own(databases):
    engine = databases.new_engine()
    migrate(engine)  # the plumbing alone, as before the desk had tables
    order = Order(
        order_id="77", customer_email="x@example.com", amount_cents=900, refundable_cents=400
    )
    email = SentEmail(
        message_id="m1", to="x@example.com", subject="Hi", body="refunded", deliveries=2
    )
    rows = [
        ("demo-desk", "order:77", 3, order.model_dump_json()),
        ("demo-desk", "email:m1", 2, email.model_dump_json()),
        ("planner", "run-1", 1, "{}"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(ServiceStateRow),
            [
                {"service": s, "key": k, "version": v, "state": t, "updated_at": datetime.now(UTC)}
                for s, k, v, t in rows
            ],
        )
    desk = SqlDesk(Store(engine))
    desk.seed()  # creates the tables, moving the old rows in; the order is not seeded again
    assert desk.order("77") == order
    assert desk.sent_emails() == [email]
    with engine.connect() as conn:
        left = conn.execute(select(ServiceStateRow.service)).scalars().all()
    assert left == ["planner"]
    # The moved order kept its version: a write expecting it wins.
    assert desk.create_refund("77", 100, "late", key="k-77").amount_cents == 100
