"""Build a connector for a stored channel or supplier."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.base import ChannelConnector, SupplierConnector
from connectors.registry import channel_connector_class, supplier_kinds
from models.accounts import credentials


def channel_connector(channel: dict[str, Any], client: httpx.AsyncClient) -> ChannelConnector:
    cls = channel_connector_class(channel["kind"])
    return cls(channel["base_url"], credentials.decrypt(channel["credentials"]), client)


def supplier_connector(supplier: dict[str, Any], client: httpx.AsyncClient) -> SupplierConnector:
    """The API client of a stored supplier (a Supplier row as a dict)."""
    cls = supplier_kinds().get(supplier["kind"])
    if cls is None:
        raise ValueError(f"Waybill has no connector for suppliers of kind “{supplier['kind']}”.")
    return cls(supplier["base_url"], credentials.decrypt(supplier["credentials"]), client)


def supplier_lookup(supplier: dict[str, Any], client: httpx.AsyncClient) -> SupplierConnector | None:
    """The API client to look a supplier's orders up with, or None for a supplier Waybill cannot ask."""
    if supplier["kind"] not in supplier_kinds():
        return None
    return supplier_connector(supplier, client)
