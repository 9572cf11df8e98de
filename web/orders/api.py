"""JSON API v1: orders, with the dashboard's filters and cursor pagination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from models.core.errors import FieldErrors
from models.core.links import web_link
from models.core.money import amount
from models.orders.queries import list_orders, order_detail
from web.api_errors import REFUSALS, ApiError
from web.api_params import RowId
from web.orders.filters import parse_filter
from web.pages import current_timezone


@dataclass
class ApiOrderSummary:
    id: int
    channel_id: int
    channel_order_id: str
    status: str
    placed_at: dt.datetime
    customer_name: str
    ship_country: str
    total: str
    currency: str
    payment_status: str
    review_reasons: list[str]


@dataclass
class ApiOrderList:
    orders: list[ApiOrderSummary]
    next_cursor: str | None
    warnings: list[str]


@dataclass
class ApiLine:
    id: int
    position: int
    sku: str
    title: str
    quantity: int
    unit_price: str
    status: str
    rejection_reason: str


@dataclass
class ApiShipmentLine:
    sku: str
    quantity: int


@dataclass
class ApiShipment:
    id: int
    carrier: str
    tracking_number: str
    tracking_url: str
    no_tracking: bool
    shipped_at: dt.datetime
    lines: list[ApiShipmentLine]
    #: `ready`: tracking added, waiting for Mark as shipped (`shipped_at` is when it was added); `shipped`.
    state: str = "shipped"


@dataclass
class ApiReviewIssue:
    code: str
    message: str
    opened_at: dt.datetime


@dataclass
class ApiEvent:
    at: dt.datetime
    actor: str
    kind: str
    message: str
    sku: str | None


@dataclass
class ApiAddress:
    first_name: str
    last_name: str
    company: str
    street1: str
    street2: str
    postcode: str
    city: str
    region: str
    country: str
    phone: str


@dataclass
class ApiOrder:
    id: int
    version: int
    channel_id: int
    channel_name: str
    channel_order_id: str
    status: str
    channel_status: str
    payment_method: str
    payment_status: str
    currency: str
    total: str
    placed_at: dt.datetime
    customer_name: str
    customer_email: str
    delivery_address: ApiAddress
    lines: list[ApiLine]
    shipments: list[ApiShipment]
    review_issues: list[ApiReviewIssue]
    events: list[ApiEvent]


FILTER_REFUSED = ResponseSpec(
    ApiError,
    description="A filter is not a number or a day, or out of bounds (`errors` by parameter); nothing was listed.",
)


def _name(row: dict[str, Any]) -> str:
    return f"{row['customer_first_name']} {row['customer_last_name']}".strip()


class ApiOrdersController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]

    @get(
        "/",
        summary="List orders",
        description="Newest first. Pass `next_cursor` back as `cursor` for the next page.",
        responses={401: REFUSALS[401], 422: FILTER_REFUSED},
    )
    async def list_orders(
        self,
        request: Request,
        tab: Annotated[
            str,
            QueryParameter(
                description="pending_review, awaiting_acceptance, awaiting_fulfillment, processing, shipped, "
                "delivered, closed or all"
            ),
        ] = "all",
        q: Annotated[str, QueryParameter(description="Order id, customer name, SKU or tracking number (prefix)")] = "",
        channel: Annotated[str, QueryParameter(description="Channel id (1 to 2147483647)")] = "",
        supplier: Annotated[str, QueryParameter(description="Supplier id (1 to 2147483647)")] = "",
        placed_from: Annotated[
            str,
            QueryParameter(
                name="from", description="First day, YYYY-MM-DD (2000-01-01 to 2099-12-31), merchant time zone"
            ),
        ] = "",
        placed_to: Annotated[str, QueryParameter(name="to", description="Last day (included), YYYY-MM-DD")] = "",
        cursor: Annotated[str | None, QueryParameter(description="`next_cursor` of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="Orders per page")] = 50,
    ) -> ApiOrderList:
        tz = await current_timezone()
        parsed = parse_filter(
            {"tab": tab, "q": q, "channel": channel, "supplier": supplier, "from": placed_from, "to": placed_to}, tz
        )
        if parsed.errors:
            raise FieldErrors(parsed.errors, parsed.refusal)
        page = await list_orders(parsed.flt, cursor, limit=limit)
        return ApiOrderList(
            orders=[
                ApiOrderSummary(
                    id=row["id"],
                    channel_id=row["channel"],
                    channel_order_id=row["channel_order_id"],
                    status=row["status"],
                    placed_at=row["placed_at"],
                    customer_name=_name(row),
                    ship_country=row["ship_country"],
                    total=amount(row["total"], row["currency"]),
                    currency=row["currency"],
                    payment_status=row["payment_status"],
                    review_reasons=page.issues.get(row["id"], []),
                )
                for row in page.rows
            ],
            next_cursor=page.next_cursor,
            warnings=parsed.warnings,
        )

    @get(
        "/{order_id:int}",
        summary="One order with lines, shipments, review issues and audit events",
        responses=REFUSALS,
    )
    async def get_order(self, order_id: RowId) -> ApiOrder:
        detail = await order_detail(order_id)
        if detail is None:
            raise NotFoundException(f"Order {order_id} does not exist.")
        o = detail.order
        cur = o["currency"]
        return ApiOrder(
            id=o["id"],
            version=o["version"],
            channel_id=o["channel"],
            channel_name=detail.channel.get("name", ""),
            channel_order_id=o["channel_order_id"],
            status=o["status"],
            channel_status=o["channel_status"],
            payment_method=o["payment_method"],
            payment_status=o["payment_status"],
            currency=cur,
            total=amount(o["total"], cur),
            placed_at=o["placed_at"],
            customer_name=_name(o),
            customer_email=o["customer_email"],
            delivery_address=ApiAddress(
                **{
                    f: o[f"ship_{f}"]
                    for f in (
                        "first_name",
                        "last_name",
                        "company",
                        "street1",
                        "street2",
                        "postcode",
                        "city",
                        "region",
                        "country",
                        "phone",
                    )
                }
            ),
            lines=[
                ApiLine(
                    line["id"],
                    line["position"],
                    line["sku"],
                    line["title"],
                    line["quantity"],
                    amount(line["unit_price"], cur),
                    line["status"],
                    line["rejection_reason"],
                )
                for line in detail.lines
            ],
            shipments=[
                ApiShipment(
                    s["id"],
                    s["carrier_name"],
                    s["tracking_number"],
                    web_link(s["tracking_url"]),
                    s["no_tracking"],
                    s["shipped_at"],
                    [ApiShipmentLine(x["sku"], x["quantity"]) for x in s.get("lines", [])],
                    s["state"],
                )
                for s in detail.shipments
            ],
            review_issues=[ApiReviewIssue(i["code"], i["message"], i["opened_at"]) for i in detail.issues],
            events=[
                ApiEvent(
                    e["at"],
                    e["actor_name"] if e["actor_kind"] == "user" else f"{e['actor_kind']}: {e['actor_name']}",
                    e["kind"],
                    e["message"],
                    e["order_line.sku"],
                )
                for e in detail.events
            ],
        )
