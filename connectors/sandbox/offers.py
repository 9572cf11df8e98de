"""Offers held by the marketplace sandboxes, and each marketplace's own stock-update API.

Every marketplace sandbox keeps an `OfferBook` (SKU → quantity offered) and serves:

- Mirakl: OF24 `POST /api/offers` (`{"offers": [{"shop_sku", "quantity", "update_delete": "update"}]}`,
  at most 10,000 offers; answers `{"import_id"}`), OF02 `GET /api/offers/imports/{import_id}` (status and
  line counts) and OF03 `GET /api/offers/imports/{import_id}/error_report` (the refused lines as CSV with
  `error-line` and `error-message` columns). Imports are applied at once and are COMPLETE when read.
- Back Market: `GET /ws/listings/detail?sku=` (the listing, 404 for an unknown SKU) and
  `POST /ws/listings/{listing_id}` `{"quantity": n}`.
- MALL: `PUT /v1/products/{product_id}/availability` `{"status": "A" | "N", "in_stock": n}` (404 for an
  unknown product).

Control interface (never faulted, no credentials): `POST _control/offers`
`{"offers": [{"sku": "BB-1001", "quantity": 5}]}` creates or sets offers; `GET _control/offers` lists them
(with `?sku=` for one); `GET _control/offers/{sku}` shows one offer and how many updates it received.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.params import FromPath

MIRAKL_MAX_OFFERS = 10_000


@dataclass
class Offer:
    sku: str
    quantity: int
    listing_id: int
    updates: int = 0
    history: list[int] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"sku": self.sku, "quantity": self.quantity, "listing_id": self.listing_id, "updates": self.updates}


class OfferBook:
    """SKU → the offer a marketplace holds for the seller."""

    def __init__(self) -> None:
        self.offers: dict[str, Offer] = {}
        self.imports: dict[int, dict[str, Any]] = {}
        self._next_listing = 70_000

    def put(self, sku: str, quantity: int) -> Offer:
        offer = self.offers.get(sku)
        if offer is None:
            self._next_listing += 1
            offer = self.offers[sku] = Offer(sku, quantity, self._next_listing)
        offer.quantity = quantity
        return offer

    def update(self, sku: str, quantity: int) -> Offer | None:
        """What the stock API does: only offers that exist change."""
        offer = self.offers.get(sku)
        if offer is not None:
            offer.quantity = quantity
            offer.updates += 1
            offer.history.append(quantity)
        return offer

    def by_listing(self, listing_id: str) -> Offer | None:
        return next((o for o in self.offers.values() if str(o.listing_id) == listing_id), None)

    def control_handlers(self) -> list[Any]:
        book = self

        @post("/_control/offers")
        async def control_put_offers(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return Response({"message": f"The body is not valid JSON: {exc}."}, status_code=400)
            entries = body.get("offers") if isinstance(body, dict) else None
            usage = 'The body must be {"offers": [{"sku": "BB-1001", "quantity": 5}]}.'
            if not isinstance(entries, list):
                return Response({"message": usage}, status_code=400)
            for entry in entries:
                quantity = entry.get("quantity") if isinstance(entry, dict) else None
                sku = entry.get("sku") if isinstance(entry, dict) else None
                if not isinstance(sku, str) or not sku or type(quantity) is not int or quantity < 0:
                    return Response({"message": f"{usage} Refused: {entry!r}."}, status_code=400)
            for entry in entries:
                book.put(entry["sku"], entry["quantity"])
            return Response({"offers": [o.view() for o in book.offers.values()]}, status_code=200)

        @get("/_control/offers", sync_to_thread=False)
        def control_list_offers(request: Request) -> Response:
            sku = request.query_params.get("sku")
            offers = [o.view() for o in book.offers.values() if sku is None or o.sku == sku]
            return Response({"offers": offers})

        @get("/_control/offers/{sku:str}", sync_to_thread=False)
        def control_offer(sku: FromPath[str]) -> Response:
            offer = book.offers.get(sku)
            if offer is None:
                return Response({"message": f"No offer for SKU {sku}."}, status_code=404)
            return Response({**offer.view(), "history": offer.history})

        return [control_put_offers, control_list_offers, control_offer]


Gate = Callable[[Request], Response | None]


def mirakl_handlers(book: OfferBook, gate: Gate) -> list[Any]:
    @post("/api/offers")
    async def of24_update_offers(request: Request) -> Response:
        if refused := gate(request):
            return refused
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return Response({"status": 400, "message": f"The body is not valid JSON: {exc}."}, status_code=400)
        offers = body.get("offers") if isinstance(body, dict) else None
        if not isinstance(offers, list) or not offers:
            return Response({"status": 400, "message": "offers: must not be empty"}, status_code=400)
        if len(offers) > MIRAKL_MAX_OFFERS:
            message = f"offers: at most {MIRAKL_MAX_OFFERS} offers per import"
            return Response({"status": 400, "message": message}, status_code=400)
        errors, done = [], 0
        for line, entry in enumerate(offers, start=1):
            sku = entry.get("shop_sku") if isinstance(entry, dict) else None
            quantity = entry.get("quantity") if isinstance(entry, dict) else None
            if type(quantity) is not int or quantity < 0:
                errors.append((line, sku, quantity, "The quantity must be a whole number, 0 or more"))
            elif not isinstance(sku, str) or book.update(sku, quantity) is None:
                errors.append((line, sku, quantity, "The offer does not exist: create it before updating its stock"))
            else:
                done += 1
        import_id = 3000 + len(book.imports) + 1
        book.imports[import_id] = {
            "import_id": import_id,
            "status": "COMPLETE",
            "lines_read": len(offers),
            "lines_in_success": done,
            "lines_in_error": len(errors),
            "has_error_report": bool(errors),
            "errors": errors,
        }
        return Response({"import_id": import_id}, status_code=201)

    @get("/api/offers/imports/{import_id:int}", sync_to_thread=False)
    def of02_import_status(request: Request, import_id: FromPath[int]) -> Response:
        if refused := gate(request):
            return refused
        found = book.imports.get(import_id)
        if found is None:
            return Response({"status": 404, "message": f"Import {import_id} not found."}, status_code=404)
        return Response({k: v for k, v in found.items() if k != "errors"})

    @get("/api/offers/imports/{import_id:int}/error_report", sync_to_thread=False)
    def of03_error_report(request: Request, import_id: FromPath[int]) -> Response:
        if refused := gate(request):
            return refused
        found = book.imports.get(import_id)
        if found is None or not found["errors"]:
            return Response({"status": 404, "message": f"Import {import_id} has no error report."}, status_code=404)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["shop-sku", "quantity", "update-delete", "error-line", "error-message"])
        for line, sku, quantity, message in found["errors"]:
            writer.writerow([sku, quantity, "update", line, message])
        return Response(out.getvalue(), media_type="text/csv")

    return [of24_update_offers, of02_import_status, of03_error_report]


def backmarket_handlers(book: OfferBook, gate: Gate) -> list[Any]:
    @get("/ws/listings/detail", sync_to_thread=False)
    def listing_detail(request: Request) -> Response:
        if refused := gate(request):
            return refused
        offer = book.offers.get(request.query_params.get("sku", ""))
        if offer is None:
            return Response({"detail": "Not found."}, status_code=404)
        return Response({"listing_id": offer.listing_id, "sku": offer.sku, "quantity": offer.quantity})

    @post("/ws/listings/{listing_id:str}")
    async def update_listing(request: Request, listing_id: FromPath[str]) -> Response:
        if refused := gate(request):
            return refused
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if type(quantity) is not int or quantity < 0:
            return Response({"quantity": ["A valid integer, 0 or more, is required."]}, status_code=400)
        offer = book.by_listing(listing_id)
        if offer is None:
            return Response({"detail": "Not found."}, status_code=404)
        book.update(offer.sku, quantity)
        return Response({"listing_id": offer.listing_id, "sku": offer.sku, "quantity": offer.quantity})

    return [listing_detail, update_listing]


def mall_handlers(book: OfferBook, gate: Gate) -> list[Any]:
    def envelope(code: int, message: str, data: Any = None) -> Response:
        status = "OK" if code < 400 else "ERROR"
        body: dict[str, Any] = {"result": {"code": code, "status": status, "message": message}}
        if data is not None:
            body["data"] = data
        return Response(body, status_code=code, media_type="application/json")

    @put("/v1/products/{product_id:str}/availability")
    async def product_availability(request: Request, product_id: FromPath[str]) -> Response:
        if refused := gate(request):
            return refused
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = body.get("status") if isinstance(body, dict) else None
        in_stock = body.get("in_stock") if isinstance(body, dict) else None
        if status not in ("A", "N") or type(in_stock) is not int or in_stock < 0:
            return envelope(400, "Availability needs status A or N and in_stock, a whole number 0 or more.")
        offer = book.update(product_id, in_stock if status == "A" else 0)
        if offer is None:
            return envelope(404, f"Product {product_id} not found.")
        return envelope(200, "", {"id": product_id, "status": status, "in_stock": offer.quantity})

    return [product_availability]
