"""The orders dashboard, the order page, the review badge and CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from litestar import Controller, Request, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Stream, Template

from models import db
from models.channels.payloads import payload_for_order
from models.core.clock import now
from models.core.money import amount
from models.orders.lifecycle import STATUS_LABELS, OrderStatus
from models.orders.queries import (
    filter_choices,
    iter_export_rows,
    list_orders,
    order_detail,
    pending_review_count,
    tab_counts,
)
from web.orders.filters import parse_filter
from web.orders.page import render_order_page
from web.pages import current_timezone, fragment, is_htmx, render

CSV_HEADER = [
    "Channel order id", "Channel", "Status", "Placed at", "Customer", "Country", "City",
    "Postcode", "Items", "SKUs", "Total", "Currency", "Payment", "Review reasons",
]  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text from marketplaces must not run as a formula when the CSV is opened in a spreadsheet."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class OrdersController(Controller):
    path = "/orders"
    include_in_schema = False

    @get("/")
    async def dashboard(self, request: Request, cursor: FromQuery[str | None] = None) -> Template:
        tz = await current_timezone()
        parsed = parse_filter(dict(request.query_params), tz)
        # Independent reads, run side by side.
        page, tabs, choices = await db.concurrently(
            list_orders(parsed.flt, cursor), tab_counts(parsed.flt), filter_choices()
        )
        channel_names = {c["id"]: c["name"] for c in choices["channels"]}
        context = {
            "parsed": parsed,
            "page": page,
            "tabs": tabs,
            "choices": choices,
            "channel_names": channel_names,
            "cursor": cursor,
        }
        # A refused filter value is left out and said why; the answer says it was bad input.
        status = 400 if parsed.errors else 200
        if is_htmx(request) and request.headers.get("hx-target") == "results":
            return await fragment(request, "orders/_results.html", status_code=status, **context)
        return await render(request, "orders/list.html", status_code=status, nav="orders", **context)

    @get("/badge")
    async def badge(self, request: Request, nav: FromQuery[str] = "") -> Template:
        """The Orders menu entry with its red dot; polled by every page."""
        return await fragment(request, "_nav_orders.html", pending_review=await pending_review_count(), nav=nav[:32])

    @get("/export.csv")
    async def export_csv(self, request: Request) -> Stream:
        tz = await current_timezone()
        parsed = parse_filter(dict(request.query_params), tz)
        if parsed.errors:
            # Refused before the download starts: once streaming, an error can only drop the connection.
            raise ClientException(parsed.refusal)
        choices = await filter_choices()
        channel_names = {c["id"]: c["name"] for c in choices["channels"]}

        async def rows() -> AsyncIterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            buffer.write("\ufeff")  # spreadsheet apps detect UTF-8 by the byte-order mark
            writer.writerow(CSV_HEADER)
            async for page in iter_export_rows(parsed.flt):
                for row in page.rows:
                    summary = page.line_summary.get(row["id"], {"items": 0, "skus": []})
                    writer.writerow(
                        [
                            spreadsheet_safe(value)
                            for value in (
                                row["channel_order_id"],
                                channel_names.get(row["channel"], ""),
                                STATUS_LABELS.get(OrderStatus(row["status"]), row["status"]),
                                row["placed_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                                f"{row['customer_first_name']} {row['customer_last_name']}".strip(),
                                row["ship_country"],
                                row["ship_city"],
                                row["ship_postcode"],
                                summary["items"],
                                " ".join(summary["skus"]),
                                amount(row["total"], row["currency"]),
                                row["currency"],
                                row["payment_status"],
                                " | ".join(page.issues.get(row["id"], [])),
                            )
                        ]
                    )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

        filename = f"orders-{parsed.values['tab']}-{now().astimezone(tz):%Y%m%d-%H%M}.csv"
        return Stream(
            rows(),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @get("/{order_id:int}")
    async def order_page(self, request: Request, order_id: FromPath[int]) -> Template:
        detail = await order_detail(order_id)
        if detail is None:
            raise NotFoundException(f"Order {order_id} does not exist.")
        return await render_order_page(request, detail)

    @get("/{order_id:int}/payloads/{payload_id:int}")
    async def payload_page(self, request: Request, order_id: FromPath[int], payload_id: FromPath[int]) -> Template:
        payload = await payload_for_order(order_id, payload_id)
        if payload is None:
            raise NotFoundException(f"Order {order_id} has no channel data {payload_id}.")
        detail = await order_detail(order_id, event_limit=1)
        try:
            body = json.dumps(json.loads(payload["body"]), indent=2, ensure_ascii=False)
        except ValueError:
            body = payload["body"]
        return await render(request, "orders/payload.html", nav="orders", o=detail.order, payload=payload, body=body)
