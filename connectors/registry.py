"""Connector kinds by name, for channels stored in the database."""

from __future__ import annotations

from connectors.base import ChannelConnector

CHANNEL_CONNECTORS: dict[str, type[ChannelConnector]] = {}


def register_channel(cls: type[ChannelConnector]) -> type[ChannelConnector]:
    CHANNEL_CONNECTORS[cls.kind] = cls
    return cls


def channel_connector_class(kind: str) -> type[ChannelConnector]:
    _load_builtin()
    try:
        return CHANNEL_CONNECTORS[kind]
    except KeyError:
        raise KeyError(f"No connector for channel kind “{kind}”.") from None


def channel_kinds() -> dict[str, type[ChannelConnector]]:
    _load_builtin()
    return dict(CHANNEL_CONNECTORS)


def _load_builtin() -> None:
    # Importing the modules registers them.
    import connectors.backmarket
    import connectors.mall
    import connectors.mirakl  # noqa: F401


#: The credential fields each channel kind needs, as (key, label) pairs, for the channel form.
CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "mirakl": (("api_key", "API key"),),
    "backmarket": (("token", "API token"),),
    "mall": (("client_id", "Client ID"),),
}


SUPPLIER_CONNECTORS: dict[str, type] = {}


def register_supplier(cls: type) -> type:
    SUPPLIER_CONNECTORS[cls.kind] = cls
    return cls


def supplier_kinds() -> dict[str, type]:
    import connectors.bigbuy
    import connectors.shipbob  # noqa: F401

    return dict(SUPPLIER_CONNECTORS)


#: The credential fields each supplier kind reads (see the connector), as (key, label) pairs, for the supplier form.
SUPPLIER_CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "bigbuy": (("api_key", "API key"),),
    "shipbob": (("token", "Personal access token"), ("channel_id", "Channel id")),
}

#: Credential fields that identify rather than unlock (the form shows them back); all others are secrets.
SUPPLIER_VISIBLE_CREDENTIALS: dict[str, frozenset[str]] = {"shipbob": frozenset({"channel_id"})}

#: Each supplier kind's production API base URL, as the form's example.
SUPPLIER_BASE_URLS: dict[str, str] = {"bigbuy": "https://api.bigbuy.eu", "shipbob": "https://api.shipbob.com"}
