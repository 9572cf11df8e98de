"""Suppliers: the list, add and edit, and one supplier's page with its wallet, catalog import and shipping
mappings."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_422_UNPROCESSABLE_ENTITY

from connectors.registry import supplier_kinds
from jobs.connections import supplier_connector
from jobs.http import http_client
from models.channels.integrations import supplier_overview
from models.channels.sync_issues import recent_issues
from models.core.bounds import OutOfBounds, row_id_or_none, whole_number
from models.core.errors import Conflict, FieldErrors, NotFound
from models.db.tables import Channel
from models.fulfilment.mappings import (
    add_mapping,
    channel_rates,
    delete_mapping,
    known_methods,
    supplier_mappings,
    update_mapping,
)
from models.stock.catalog import supplier_catalog
from models.stock.catalog_uploads import (
    MAX_BYTES,
    get_upload,
    import_all,
    import_next_chunk,
    latest_upload,
    start_upload,
)
from models.suppliers.setup import (
    SupplierForm,
    create_supplier,
    credential_fields_set,
    credentials_unreadable,
    kind_locked,
    update_supplier,
    visible_credentials,
)
from models.suppliers.supplier import WalletRefresh, get_supplier, orders_waiting_count, refresh_wallet
from web.auth import require_admin, require_operator
from web.form_body import FORM, form_version
from web.input_bounds import QueryId
from web.pages import fragment, is_htmx, render
from web.suppliers.resubmit import resubmit_context

#: Room for the multipart envelope around a file of the largest size accepted.
UPLOAD_BODY_LIMIT = MAX_BYTES + 256 * 1024
TOO_LARGE = (
    f"The file is larger than {MAX_BYTES // 1024 // 1024} MB, the limit for catalog files. "
    "Split it into smaller files and import them one after the other."
)


def _form_from(data: dict[str, Any]) -> SupplierForm:
    kind = str(data.get("kind", "")).strip()
    creds = {key: str(data.get(f"cred_{kind}_{key}", "")) for key, _ in _fields(kind)}
    return SupplierForm(
        name=str(data.get("name", "")),
        kind=kind,
        base_url=str(data.get("base_url", "")),
        prepaid=data.get("prepaid") == "on",
        active=data.get("active") == "on",
        credentials=creds,
    )


def _fields(kind: str) -> tuple[tuple[str, str], ...]:
    cls = supplier_kinds().get(kind)
    return cls.credential_fields if cls else ()


def _kind_label(kind: str) -> str:
    return getattr(supplier_kinds().get(kind), "label", kind)


def _stored_credential_labels(supplier: dict[str, Any]) -> list[str]:
    """Labels of the stored secrets, in the form's order; identifiers such as a channel id are shown apart."""
    stored = credential_fields_set(supplier)
    fields = _fields(supplier["kind"])
    cls = supplier_kinds().get(supplier["kind"])
    shown = cls.visible_credentials if cls else frozenset()
    known = [label for key, label in fields if key in stored and key not in shown]
    return known + [key for key in stored if key not in dict(fields)]


def _shown_credentials(supplier: dict[str, Any]) -> dict[str, str]:
    labels = dict(_fields(supplier["kind"]))
    return {labels.get(key, key): value for key, value in visible_credentials(supplier).items()}


def _anchor(supplier_id: int, section: str, **query: Any) -> str:
    """The supplier page at one of its sections, e.g. `/suppliers/3?upload=7#catalog`."""
    params = urlencode({k: v for k, v in query.items() if v not in (None, "")})
    return f"/suppliers/{supplier_id}" + (f"?{params}" if params else "") + f"#{section}"


class SuppliersController(Controller):
    path = "/suppliers"
    include_in_schema = False

    @get("/")
    async def suppliers(self, request: Request) -> Template:
        kinds = {kind: cls.label for kind, cls in supplier_kinds().items()}
        return await render(
            request, "suppliers/list.html", nav="suppliers", suppliers=await supplier_overview(), kinds=kinds
        )

    # -- add and edit --------------------------------------------------------------------------------

    async def _form_page(
        self,
        request: Request,
        supplier: dict[str, Any] | None,
        form: SupplierForm,
        errors: dict[str, str],
        status_code: int = 200,
        version: object = None,
    ) -> Template:
        """The supplier form; on bad input it comes back with everything typed and a message per field.
        `version`: of the supplier as the form was first opened (sent back on save)."""
        kinds = supplier_kinds()
        return await render(
            request,
            "suppliers/form.html",
            status_code=status_code,
            nav="suppliers",
            supplier=supplier,
            form=form,
            errors=errors,
            kinds={kind: cls.label for kind, cls in kinds.items()},
            prepaid_kinds={kind for kind, cls in kinds.items() if getattr(cls, "prepaid", False)},
            credential_fields={kind: cls.credential_fields for kind, cls in kinds.items()},
            visible_fields={kind: cls.visible_credentials for kind, cls in kinds.items()},
            base_urls={kind: cls.default_base_url for kind, cls in kinds.items()},
            stored_credentials=credential_fields_set(supplier) if supplier else [],
            credentials_unreadable=bool(supplier) and credentials_unreadable(supplier),
            kind_locked=await kind_locked(supplier["id"]) if supplier else False,
            record_version=version if version is not None else (supplier["version"] if supplier else None),
        )

    @get("/new", guards=[require_admin])
    async def new_supplier(self, request: Request) -> Template:
        kinds = supplier_kinds()
        kind = next(iter(kinds), "")
        form = SupplierForm(name="", kind=kind, base_url="", prepaid=getattr(kinds.get(kind), "prepaid", False))
        return await self._form_page(request, None, form, {})

    @post("/", guards=[require_admin])
    async def add_supplier(self, request: Request, data: FORM) -> Template | Redirect:
        form = _form_from(data)
        try:
            supplier_id = await create_supplier(form, supplier_kinds())
        except FieldErrors as exc:
            return await self._form_page(request, None, form, exc.errors, HTTP_422_UNPROCESSABLE_ENTITY)
        return Redirect(f"/suppliers/{supplier_id}?created=1")

    @get("/{supplier_id:int}/edit", guards=[require_admin])
    async def edit_supplier(self, request: Request, supplier_id: FromPath[int]) -> Template:
        supplier = await get_supplier(supplier_id)
        form = SupplierForm(
            name=supplier["name"],
            kind=supplier["kind"],
            base_url=supplier["base_url"],
            prepaid=supplier["prepaid"],
            active=supplier["active"],
            credentials=visible_credentials(supplier),
        )
        return await self._form_page(request, supplier, form, {}, version=supplier["version"])

    @post("/{supplier_id:int}", guards=[require_admin])
    async def save_supplier(self, request: Request, supplier_id: FromPath[int], data: FORM) -> Template | Redirect:
        supplier = await get_supplier(supplier_id)
        form = _form_from(data)
        version = form_version(data, "supplier")
        try:
            await update_supplier(supplier_id, form, supplier_kinds(), version)
        except FieldErrors as exc:
            return await self._form_page(
                request, supplier, form, exc.errors, HTTP_422_UNPROCESSABLE_ENTITY, version=version
            )
        except Conflict as exc:  # another admin saved first: their change stays, this form keeps what was typed
            return await self._form_page(request, supplier, form, {"version": exc.message}, 409, version=version)
        return Redirect(f"/suppliers/{supplier_id}?saved=1")

    # -- the page and its fragments ----------------------------------------------------------------

    async def _wallet_context(self, supplier_id: int, result: WalletRefresh | None = None) -> dict[str, Any]:
        supplier = await get_supplier(supplier_id)
        return {"supplier": supplier, "has_connector": supplier["kind"] in supplier_kinds(), "wallet_result": result}

    async def _catalog_context(self, supplier_id: int, q: str = "", after: str = "") -> dict[str, Any]:
        return {"catalog": await supplier_catalog(supplier_id, q, after), "q": q.strip(), "after": after}

    async def _mappings_context(
        self, supplier_id: int, *, editing: int | None = None, errors: dict | None = None, form: dict | None = None
    ) -> dict[str, Any]:
        channels = await Channel.select(Channel.id, Channel.name).order_by(Channel.name)
        form = form or {}
        chosen = str(form.get("channel") or (channels[0]["id"] if channels else ""))
        return {
            "mappings": await supplier_mappings(supplier_id),
            "channels": channels,
            "rates": await channel_rates(row_id_or_none(chosen)),
            "methods": await known_methods(supplier_id),
            "editing": editing,
            "mapping_errors": errors or {},
            "mapping_form": {**form, "channel": chosen},
        }

    async def _page(
        self,
        request: Request,
        supplier_id: int,
        status_code: int = 200,
        *,
        q: str = "",
        after: str = "",
        upload_id: int | None = None,
        editing: int | None = None,
        mapping_errors: dict | None = None,
        mapping_form: dict | None = None,
        **extra: Any,
    ) -> Template:
        context: dict[str, Any] = await self._wallet_context(supplier_id)
        upload = None
        if upload_id:
            with contextlib.suppress(NotFound):  # an old link: show the latest upload instead
                upload = await get_upload(supplier_id, upload_id)
        context.update(
            await self._catalog_context(supplier_id, q, after),
            **await self._mappings_context(supplier_id, editing=editing, errors=mapping_errors, form=mapping_form),
        )
        context.update(
            nav="suppliers",
            kind_label=_kind_label(context["supplier"]["kind"]),
            stored_credentials=_stored_credential_labels(context["supplier"]),
            shown_credentials=_shown_credentials(context["supplier"]),
            credentials_unreadable=credentials_unreadable(context["supplier"]),
            waiting=await orders_waiting_count(supplier_id),
            issues=await recent_issues("supplier", supplier_id),
            **await resubmit_context(supplier_id),
            upload=upload or await latest_upload(supplier_id),
            upload_errors={},
            max_upload_mb=MAX_BYTES // 1024 // 1024,
            max_upload_bytes=MAX_BYTES,
        )
        context.update(extra)
        return await render(request, "suppliers/detail.html", status_code=status_code, **context)

    @get("/{supplier_id:int}")
    async def supplier_page(
        self,
        request: Request,
        supplier_id: FromPath[int],
        q: FromQuery[str] = "",
        after: FromQuery[str] = "",
        upload: QueryId = None,
        edit_mapping: QueryId = None,
        created: FromQuery[str] = "",
        saved: FromQuery[str] = "",
    ) -> Template:
        notice = "created" if created else "saved" if saved else ""
        return await self._page(
            request, supplier_id, q=q, after=after, upload_id=upload, editing=edit_mapping, notice=notice
        )

    # -- wallet --------------------------------------------------------------------------------------

    @post("/{supplier_id:int}/wallet/refresh", guards=[require_operator])
    async def wallet_refresh(self, request: Request, supplier_id: FromPath[int]) -> Template:
        result = await refresh_wallet(supplier_id, lambda supplier: supplier_connector(supplier, http_client()))
        if not is_htmx(request):
            return await self._page(request, supplier_id, wallet_result=result)
        return await fragment(request, "suppliers/_wallet.html", **await self._wallet_context(supplier_id, result))

    # -- catalog ---------------------------------------------------------------------------------

    @get("/{supplier_id:int}/catalog")
    async def catalog(
        self, request: Request, supplier_id: FromPath[int], q: FromQuery[str] = "", after: FromQuery[str] = ""
    ) -> Template | Redirect:
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "catalog", q=q, after=after))
        supplier = await get_supplier(supplier_id)
        context = await self._catalog_context(supplier_id, q, after)
        return await fragment(request, "suppliers/_catalog_entries.html", supplier=supplier, **context)

    async def _upload_refused(self, request: Request, supplier_id: int, message: str) -> Template:
        if not is_htmx(request):
            return await self._page(request, supplier_id, 400, upload=None, upload_errors={"file": message})
        supplier = await get_supplier(supplier_id)
        return await fragment(
            request,
            "suppliers/_catalog_import.html",
            status_code=400,
            supplier=supplier,
            upload=None,
            upload_error=message,
        )

    @post(
        "/{supplier_id:int}/catalog/uploads",
        guards=[require_operator],
        request_max_body_size=UPLOAD_BODY_LIMIT,
    )
    async def upload_catalog(self, request: Request, supplier_id: FromPath[int]) -> Template | Redirect:
        """Check the file and keep its rows; htmx then imports them a chunk per request, showing progress."""
        supplier = await get_supplier(supplier_id)
        try:
            form = await request.form()
        except HTTPException as exc:
            if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE or "too large" in str(exc.detail).lower():
                return await self._upload_refused(request, supplier_id, TOO_LARGE)
            raise
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return await self._upload_refused(request, supplier_id, "Choose a CSV file to import.")
        data = await file.read(MAX_BYTES + 1)
        try:
            upload = await start_upload(supplier_id, file.filename, data, request.user.username)
        except FieldErrors as exc:
            return await self._upload_refused(request, supplier_id, exc.errors.get("file", exc.message))
        if not is_htmx(request):
            upload = await import_all(supplier_id, upload.id)
            return Redirect(_anchor(supplier_id, "catalog", upload=upload.id))
        return await fragment(request, "suppliers/_catalog_import.html", supplier=supplier, upload=upload)

    @post("/{supplier_id:int}/catalog/uploads/{upload_id:int}/next", guards=[require_operator])
    async def import_chunk(
        self, request: Request, supplier_id: FromPath[int], upload_id: FromPath[int], data: FORM
    ) -> Template | Redirect:
        """Import the next chunk of an upload; the fragment asks for the one after until all are done."""
        supplier = await get_supplier(supplier_id)
        try:
            offset = whole_number(str(data.get("offset", "")))
        except OutOfBounds:
            upload = await get_upload(supplier_id, upload_id)  # no chunk named: show where the import is
        else:
            upload = await import_next_chunk(supplier_id, upload_id, offset)
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "catalog", upload=upload_id))
        headers = {"HX-Trigger": "catalog-changed"} if upload.done else {}
        response = await fragment(request, "suppliers/_catalog_import.html", supplier=supplier, upload=upload)
        response.headers.update(headers)
        return response

    # -- shipping mappings -------------------------------------------------------------------------

    async def _mappings(
        self,
        request: Request,
        supplier_id: int,
        status_code: int = 200,
        *,
        message: str = "",
        editing: int | None = None,
        errors: dict | None = None,
        form: dict | None = None,
    ) -> Template:
        if not is_htmx(request):
            return await self._page(
                request,
                supplier_id,
                status_code,
                editing=editing,
                mapping_errors=errors,
                mapping_form=form,
                mapping_message=message,
            )
        supplier = await get_supplier(supplier_id)
        context = await self._mappings_context(supplier_id, editing=editing, errors=errors, form=form)
        return await fragment(
            request,
            "suppliers/_shipping_mappings.html",
            status_code=status_code,
            supplier=supplier,
            mapping_message=message,
            **context,
        )

    @get("/{supplier_id:int}/shipping-mappings")
    async def mappings(self, request: Request, supplier_id: FromPath[int], edit: QueryId = None) -> Template | Redirect:
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "shipping-mappings", edit_mapping=edit))
        return await self._mappings(request, supplier_id, editing=edit)

    @get("/{supplier_id:int}/shipping-mappings/rates")
    async def rate_options(
        self, request: Request, supplier_id: FromPath[int], channel: FromQuery[str] = ""
    ) -> Template:
        """The channel's shipping rate names, as the add form's suggestions."""
        await get_supplier(supplier_id)
        rates = await channel_rates(row_id_or_none(channel))
        return await fragment(request, "suppliers/_rate_options.html", rates=rates)

    @post("/{supplier_id:int}/shipping-mappings", guards=[require_operator])
    async def mapping_add(self, request: Request, supplier_id: FromPath[int], data: FORM) -> Template | Redirect:
        await get_supplier(supplier_id)
        form = {key: str(data.get(key, "")) for key in ("channel", "channel_rate", "method")}
        try:
            await add_mapping(supplier_id, form["channel"], form["channel_rate"], form["method"])
        except FieldErrors as exc:
            return await self._mappings(request, supplier_id, 400, errors=exc.errors, form=form)
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "shipping-mappings"))
        message = f"Mapping added: “{form['channel_rate'].strip()}” → “{form['method'].strip()}”."
        return await self._mappings(request, supplier_id, message=message, form={"channel": form["channel"]})

    @post("/{supplier_id:int}/shipping-mappings/{mapping_id:int}", guards=[require_operator])
    async def save_mapping(
        self, request: Request, supplier_id: FromPath[int], mapping_id: FromPath[int], data: FORM
    ) -> Template | Redirect:
        method = str(data.get("method", ""))
        try:
            await update_mapping(supplier_id, mapping_id, method)
        except FieldErrors as exc:
            errors = {f"method_{mapping_id}": exc.errors.get("method", exc.message)}
            return await self._mappings(request, supplier_id, 400, editing=mapping_id, errors=errors)
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "shipping-mappings"))
        return await self._mappings(request, supplier_id, message="Mapping saved.")

    @post("/{supplier_id:int}/shipping-mappings/{mapping_id:int}/delete", guards=[require_operator])
    async def remove_mapping(
        self, request: Request, supplier_id: FromPath[int], mapping_id: FromPath[int]
    ) -> Template | Redirect:
        removed = await delete_mapping(supplier_id, mapping_id)
        if not is_htmx(request):
            return Redirect(_anchor(supplier_id, "shipping-mappings"))
        return await self._mappings(request, supplier_id, message=f"Mapping for “{removed['channel_rate']}” deleted.")
