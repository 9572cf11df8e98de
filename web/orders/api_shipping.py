"""JSON API v1, shipping: the carrier list, Add tracking (a parcel with its lines), remove a parcel not
shipped yet, and Mark as shipped. Same rules and messages as the order page (`models.fulfilment.shipping`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter

from jobs.dispatcher import dispatch_channel_order_now
from jobs.http import http_client
from models.core.errors import FieldErrors
from models.core.links import web_link
from models.fulfilment.carriers import code_channels, list_carriers
from models.fulfilment.shipping import add_tracking, channel_report, mark_shipped, remove_tracking, shipped_message
from models.orders.queries import OrderShipping, order_shipping
from web.api_errors import CHANGE_REFUSALS, REFUSALS
from web.api_params import MAX_INT, OptionalBody, Quantity, RowId, Version
from web.api_results import ApiOrderChange, order_change
from web.auth import require_operator
from web.orders.page import actor_of


@dataclass
class ApiCarrierCode:
    channel_id: int
    channel_name: str
    code: str


@dataclass
class ApiCarrier:
    id: int
    name: str
    #: The carrier's code on each channel that has one; other channels receive the name.
    codes: list[ApiCarrierCode]
    tracking_url_pattern: str
    tracking_number_pattern: str


@dataclass
class ApiParcelLine:
    line_id: int
    sku: str
    quantity: int


@dataclass
class ApiParcel:
    id: int
    #: `ready`: tracking added, waiting for Mark as shipped (not sent to the channel); `shipped`.
    state: str
    carrier_id: int | None
    carrier: str
    tracking_number: str
    tracking_url: str
    no_tracking: bool
    #: When it shipped; null while ready.
    shipped_at: dt.datetime | None
    lines: list[ApiParcelLine]


@dataclass
class ApiLineShipping:
    line_id: int
    sku: str
    accepted: int
    shipped: int
    #: In parcels waiting for Mark as shipped.
    ready: int
    left: int


@dataclass
class ApiShipping(ApiOrderChange):
    #: The parcel just added, for Add tracking.
    parcel_id: int | None
    parcels: list[ApiParcel]
    lines: list[ApiLineShipping]


@dataclass
class ApiParcelLineQuantity:
    line_id: RowId
    quantity: Quantity


@dataclass
class ApiAddTracking:
    #: Quantity per order line in this parcel; omitted: everything left to ship.
    lines: list[ApiParcelLineQuantity] | None = None
    #: A carrier from `GET /api/v1/carriers`; optional with `no_tracking`.
    carrier_id: RowId | None = None
    tracking_number: str = ""
    no_tracking: bool = False
    version: Version = None


@dataclass
class ApiMarkShipped:
    version: Version = None


def _shipping(detail: OrderShipping, message: str = "", level: str = "", parcel_id: int | None = None) -> ApiShipping:
    summary = detail.shipping
    return order_change(
        ApiShipping,
        detail.order,
        message,
        level,
        parcel_id=parcel_id,
        parcels=[
            ApiParcel(
                id=s["id"],
                state=s["state"],
                carrier_id=s["carrier"],
                carrier=s["carrier_name"],
                tracking_number=s["tracking_number"],
                tracking_url=web_link(s["tracking_url"]),
                no_tracking=s["no_tracking"],
                shipped_at=s["shipped_at"] if s["state"] == "shipped" else None,
                lines=[ApiParcelLine(x["line_id"], x["sku"], x["quantity"]) for x in s.get("lines", [])],
            )
            for s in detail.shipments
        ],
        lines=[
            ApiLineShipping(line.id, line.sku, line.quantity, line.shipped, line.ready, line.left)
            for line in summary.lines
        ],
    )


async def _detail(order_id: int) -> OrderShipping:
    detail = await order_shipping(order_id)
    if detail is None:
        raise NotFoundException(f"Order {order_id} does not exist.")
    return detail


def _api_field(name: str) -> str:
    """The request field a domain error is about (`qty_12` → `lines.12`, `carrier` → `carrier_id`)."""
    if name.startswith("qty_"):
        return f"lines.{name[4:]}"
    return {"carrier": "carrier_id", "quantities": "lines"}.get(name, name)


class ApiShippingController(Controller):
    path = "/api/v1"
    tags = ["shipping"]

    @get(
        "/carriers",
        summary="Carriers to ship with",
        description="The list maintained on the Settings page.",
        responses={401: REFUSALS[401]},
    )
    async def carriers(self) -> list[ApiCarrier]:
        names = {c["id"]: c["name"] for c in await code_channels()}
        return [
            ApiCarrier(
                id=c["id"],
                name=c["name"],
                codes=[ApiCarrierCode(i, names[i], code) for i, code in sorted(c["codes"].items()) if i in names],
                tracking_url_pattern=c["tracking_url_pattern"],
                tracking_number_pattern=c["tracking_number_pattern"],
            )
            for c in await list_carriers(active_only=True)
        ]

    @get(
        "/orders/{order_id:int}/shipping",
        summary="Shipping of one order: parcels and what is left per line",
        responses=REFUSALS,
    )
    async def shipping(self, order_id: RowId) -> ApiShipping:
        return _shipping(await _detail(order_id))

    @post(
        "/orders/{order_id:int}/shipments",
        guards=[require_operator],
        responses=CHANGE_REFUSALS,
        status_code=201,
        summary="Add tracking: a parcel ready to ship",
        description="Records a parcel (quantity per line, carrier and tracking number, or `no_tracking`). Nothing is "
        "sent to the channel until Mark as shipped. A parcel never holds more than is left to ship; a tracking number "
        "must match the carrier's format when it has one. Refusals answer 422 with `errors` per field "
        "(`lines.<line id>`, `lines`, `carrier_id`, `tracking_number`); 409 when `version` is out of date.",
    )
    async def add_parcel(self, request: Request, order_id: RowId, data: JSONBody[ApiAddTracking]) -> ApiShipping:
        if data.lines is None:
            quantities = {line.id: line.left for line in (await _detail(order_id)).shipping.lines}
        else:
            quantities = {}
            for item in data.lines:
                quantities[item.line_id] = quantities.get(item.line_id, 0) + item.quantity
        try:
            parcel_id = await add_tracking(
                order_id,
                quantities,
                actor_of(request),
                carrier_id=data.carrier_id,
                tracking_number=data.tracking_number,
                no_tracking=data.no_tracking,
                expected_version=data.version,
            )
        except FieldErrors as exc:
            raise FieldErrors({_api_field(k): v for k, v in exc.errors.items()}, exc.message) from exc
        detail = await _detail(order_id)
        message = f"Tracking added. Mark as shipped to send it to {detail.channel.get('name', 'the channel')}."
        return _shipping(detail, message, "success", parcel_id)

    @delete(
        "/orders/{order_id:int}/shipments/{shipment_id:int}",
        guards=[require_operator],
        responses=CHANGE_REFUSALS,
        status_code=200,
        summary="Remove a parcel not shipped yet",
    )
    async def remove_parcel(
        self,
        request: Request,
        order_id: RowId,
        shipment_id: RowId,
        version: Annotated[
            int | None,
            QueryParameter(ge=0, le=MAX_INT, description="The order version you saw", schema_extra={"minimum": 0}),
        ] = None,
    ) -> ApiShipping:
        what = await remove_tracking(order_id, shipment_id, actor_of(request), version)
        message = f"Tracking removed ({what}). Nothing had been sent to the channel."
        return _shipping(await _detail(order_id), message, "success")

    @post(
        "/orders/{order_id:int}/ship",
        operation_class=OptionalBody,
        guards=[require_operator],
        responses=CHANGE_REFUSALS,
        status_code=200,
        summary="Mark as shipped",
        description="Ships every parcel added with Add tracking: the order becomes partially shipped or shipped, and "
        "the tracking (then the ship step, once everything has shipped) is sent to the channel. `message` says how "
        "the channel answered.",
    )
    async def ship(
        self, request: Request, order_id: RowId, data: JSONBody[ApiMarkShipped | None] = None
    ) -> ApiShipping:
        result = await mark_shipped(order_id, actor_of(request), data.version if data else None)
        await dispatch_channel_order_now(order_id, http_client())
        detail = await _detail(order_id)
        said, level = await channel_report(result.channel_keys, detail.channel.get("name", "The channel"))
        return _shipping(detail, f"{shipped_message(result)} {said}".strip(), level)
