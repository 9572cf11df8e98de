"""The connector kinds this installation knows: the built-in ones and those installed as packages.

A connector class describes itself (kind, label, credential fields, base URL, status pairing); the
registry only collects the classes. A connector shipped as a separate distribution declares it in an
entry-point group, `waybill.channels` or `waybill.suppliers`, e.g. in its pyproject.toml:

    [project.entry-points."waybill.channels"]
    acme = "waybill_acme:AcmeConnector"

Built-in kinds win over an installed one of the same kind; a plugin that does not load, or is not a
connector class, is left out with a warning in the log rather than stopping Waybill.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TypeVar

from connectors.base import ChannelConnector, SupplierConnector
from models import ports

log = logging.getLogger(__name__)

CHANNEL_GROUP = "waybill.channels"
SUPPLIER_GROUP = "waybill.suppliers"
BUILTIN_CHANNELS = ("connectors.mirakl:MiraklConnector", "connectors.backmarket:BackMarketConnector",
                    "connectors.mall:MallConnector")  # fmt: skip
BUILTIN_SUPPLIERS = ("connectors.bigbuy:BigBuyConnector", "connectors.shipbob:ShipBobConnector")

Kind = TypeVar("Kind", ChannelConnector, SupplierConnector)


def _load(target: str) -> object:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _collect(builtin: tuple[str, ...], group: str, base: type[Kind]) -> dict[str, type[Kind]]:
    kinds: dict[str, type[Kind]] = {}
    for target in builtin:
        cls = _load(target)
        assert isinstance(cls, type) and issubclass(cls, base), target
        kinds[cls.kind] = cls
    for point in entry_points(group=group):
        try:
            cls = point.load()
        except Exception:
            log.warning("The %s connector %r (%s) does not load; it is left out.", group, point.name, point.value,
                        exc_info=True)  # fmt: skip
            continue
        if not (isinstance(cls, type) and issubclass(cls, base) and isinstance(getattr(cls, "kind", None), str)):
            log.warning("The %s entry point %r (%s) is not a %s with a kind; it is left out.", group, point.name,
                        point.value, base.__name__)  # fmt: skip
            continue
        if cls.kind in kinds:
            log.warning("The %s connector %r (%s) has the kind %r of another connector; it is left out.", group,
                        point.name, point.value, cls.kind)  # fmt: skip
            continue
        kinds[cls.kind] = cls
    return kinds


@functools.cache
def _channels() -> Mapping[str, type[ChannelConnector]]:
    return _collect(BUILTIN_CHANNELS, CHANNEL_GROUP, ChannelConnector)


@functools.cache
def _suppliers() -> Mapping[str, type[SupplierConnector]]:
    return _collect(BUILTIN_SUPPLIERS, SUPPLIER_GROUP, SupplierConnector)


def channel_kinds() -> dict[str, type[ChannelConnector]]:
    return dict(_channels())


def supplier_kinds() -> dict[str, type[SupplierConnector]]:
    return dict(_suppliers())


def channel_connector_class(kind: str) -> type[ChannelConnector]:
    try:
        return _channels()[kind]
    except KeyError:
        raise KeyError(f"No connector for channel kind “{kind}”.") from None


def reload() -> None:
    """Look for installed connectors again (after installing one while running, and in tests)."""
    _channels.cache_clear()
    _suppliers.cache_clear()


class _Registry:
    """The registry as the domain's `ports.Directory`."""

    def channel_kinds(self) -> Mapping[str, ports.ChannelKind]:
        return _channels()

    def supplier_kinds(self) -> Mapping[str, ports.SupplierKind]:
        return _suppliers()


def install() -> None:
    """Hand the known connector kinds to the domain; the application calls it when it starts."""
    ports.install_directory(_Registry())
