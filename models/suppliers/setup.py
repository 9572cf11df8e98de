"""Suppliers: add and edit them, with validation a merchant can act on.

A supplier is a name, a connector kind, the API base URL, the credentials that kind reads (encrypted at
rest; secrets are never shown back, an empty field keeps the stored one), whether it works from a
prepaid wallet, and whether orders go to it at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from models.accounts import credentials
from models.core.clock import now
from models.core.errors import Conflict, FieldErrors, NotFound
from models.core.quoting import quoted
from models.core.versions import save_versioned
from models.db.tables import Supplier, SupplierOrder
from models.ports import SupplierKind, directory
from models.suppliers.supplier import get_supplier

MAX_NAME_LENGTH = 100


@dataclass
class SupplierForm:
    name: str
    kind: str
    base_url: str
    prepaid: bool = False
    active: bool = True
    #: Credential values as typed; an empty secret keeps what is stored.
    credentials: dict[str, str] = field(default_factory=dict)


def _readable_credentials(supplier: dict[str, Any]) -> dict[str, str]:
    """The stored credentials, or none when this instance's secret keys cannot decrypt them."""
    try:
        return credentials.decrypt(supplier.get("credentials", ""))
    except credentials.CredentialsUnreadable:
        return {}


def credential_fields_set(supplier: dict[str, Any]) -> list[str]:
    """Names of the stored credential fields (never their values)."""
    return sorted(_readable_credentials(supplier))


def credentials_unreadable(supplier: dict[str, Any]) -> bool:
    """Whether credentials are stored that this instance's secret keys cannot decrypt."""
    return not credentials.readable(supplier.get("credentials", ""))


def visible_credentials(supplier: dict[str, Any]) -> dict[str, str]:
    """The stored credentials that are identifiers, not secrets (e.g. ShipBob's channel id), to show back."""
    kind = directory().supplier_kinds().get(supplier["kind"])
    shown = kind.visible_credentials if kind else frozenset()
    return {k: v for k, v in _readable_credentials(supplier).items() if k in shown}


async def kind_locked(supplier_id: int) -> bool:
    """Once orders went to a supplier its kind stays: they are followed through that kind's API."""
    return await SupplierOrder.exists().where(SupplierOrder.supplier == supplier_id)


async def create_supplier(form: SupplierForm, known_kinds: Mapping[str, SupplierKind]) -> int:
    values, secrets = await _checked(form, known_kinds, None)
    try:
        rows = await Supplier.insert(
            Supplier(**values, credentials=credentials.encrypt(secrets or {}), created_at=now())
        ).returning(Supplier.id)
    except Exception:
        if await _name_taken(values["name"], None):  # added by someone else in the meantime
            raise FieldErrors({"name": _name_taken_message(values["name"])}) from None
        raise
    return rows[0]["id"]


async def update_supplier(
    supplier_id: int,
    form: SupplierForm,
    known_kinds: Mapping[str, SupplierKind],
    expected_version: int | None = None,
) -> int:
    """Save the form over the supplier it was opened for (`expected_version`); returns the new version."""
    current = await get_supplier(supplier_id)
    values, secrets = await _checked(form, known_kinds, current)
    updates = {getattr(Supplier, k): v for k, v in values.items()}
    if secrets is not None:
        updates[Supplier.credentials] = credentials.encrypt(secrets)
    label = f"Supplier {quoted(current['name'])}"
    try:
        return await save_versioned(Supplier, supplier_id, updates, expected_version, label)
    except (Conflict, NotFound):
        raise
    except Exception:
        if await _name_taken(values["name"], supplier_id):
            raise FieldErrors({"name": _name_taken_message(values["name"])}) from None
        raise


async def _checked(
    form: SupplierForm, known_kinds: Mapping[str, SupplierKind], current: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The row's values and the credentials to store (None: keep them as they are), or every field's error."""
    if current is not None and credentials_unreadable(current):  # saving could only lose them: change nothing
        unreadable = credentials.CredentialsUnreadable()
        raise FieldErrors({"credentials": unreadable.message}, unreadable.message)
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = "Give the supplier a name, e.g. “BigBuy EU”."
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"Use at most {MAX_NAME_LENGTH} characters."
    elif await _name_taken(name, current["id"] if current else None):
        errors["name"] = _name_taken_message(name)

    kind = form.kind.strip()
    connector = known_kinds.get(kind)
    kept_unknown = current is not None and kind == current["kind"] and connector is None
    label = getattr(connector, "label", kind)
    if connector is None and not kept_unknown:
        errors["kind"] = "Choose a supplier kind from the list."
    elif current is not None and kind != current["kind"] and await kind_locked(current["id"]):
        errors["kind"] = (
            f"{current['name']} already has orders sent through its {current['kind']} connection, which are "
            "followed up there, so its kind cannot change. Add a new supplier for the other kind instead."
        )

    base_url = form.base_url.strip().rstrip("/")
    parsed = urlparse(base_url)
    if (parsed.scheme not in ("http", "https") or not parsed.netloc) and not (kept_unknown and not base_url):
        example = connector.default_base_url if connector else "https://api.example.com"
        errors["base_url"] = f"Enter the API base URL, starting with https:// (e.g. {example})."

    if connector is not None and form.prepaid and not getattr(connector, "prepaid", False):
        errors["prepaid"] = f"{label} has no prepaid wallet (it bills by invoice): untick Prepaid wallet."

    secrets = None if kept_unknown or connector is None else _credentials(form, connector, current, errors)
    if errors:
        raise FieldErrors(errors)
    values = {"name": name, "kind": kind, "base_url": base_url, "prepaid": form.prepaid, "active": form.active}
    return values, secrets


def _credentials(
    form: SupplierForm, connector: SupplierKind, current: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, str] | None:
    """The kind's credentials: typed values, else (for secrets) the stored ones of the same kind; None when
    that is what is stored already, so that saving other fields leaves the stored value as it is."""
    kind, label = connector.kind, connector.label
    same_kind = current is not None and current["kind"] == kind
    stored = credentials.decrypt(current["credentials"]) if same_kind else {}
    visible = connector.visible_credentials
    values: dict[str, str] = {}
    for key, field_label in connector.credential_fields:
        typed = form.credentials.get(key, "").strip()
        value = typed if key in visible else typed or stored.get(key, "")
        if not value:
            errors[f"cred_{key}"] = f"Enter the {_lower_first(field_label)} from {label}."
        elif problem := connector.credential_problem(key, value):
            errors[f"cred_{key}"] = problem
        values[key] = value
    if same_kind:
        values = stored | values  # a value the kind no longer asks for is kept, not dropped
        if values == stored:
            return None
    return values


def _lower_first(text: str) -> str:
    """“Personal access token” → “personal access token”, but “API key” stays."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


async def _name_taken(name: str, other_than: int | None) -> bool:
    """Names are unique whatever their case: “bigbuy” and “BigBuy” would be confused on every page."""
    rows = await Supplier.select(Supplier.id, Supplier.name)
    return any(row["name"].casefold() == name.casefold() and row["id"] != other_than for row in rows)


def _name_taken_message(name: str) -> str:
    return f"A supplier named {quoted(name)} already exists: choose another name, or edit that supplier."
