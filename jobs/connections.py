"""Build a connector for a stored channel."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.base import ChannelConnector
from connectors.registry import channel_connector_class
from models import credentials


def channel_connector(channel: dict[str, Any], client: httpx.AsyncClient) -> ChannelConnector:
    cls = channel_connector_class(channel["kind"])
    return cls(channel["base_url"], credentials.decrypt(channel["credentials"]), client)
