import uuid

import pytest

from agentdeck.demo.desk import DeskError
from agentdeck.demo.sql_desk import SqlDesk
from agentdeck.store import Store


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
