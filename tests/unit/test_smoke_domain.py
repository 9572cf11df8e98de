from models.orders.lifecycle import OrderStatus
from models.orders.queries import OrderFilter, list_orders, tab_counts
from tests.conftest import import_one, make_order


async def test_import_then_list(channel):
    order_id = await import_one(channel, make_order("A-1"))
    page = await list_orders(OrderFilter())
    assert [row["id"] for row in page.rows] == [order_id]
    counts = {t.slug: t.count for t in await tab_counts(OrderFilter())}
    assert counts[OrderStatus.AWAITING_ACCEPTANCE.value] == 1
    assert counts["all"] == 1
