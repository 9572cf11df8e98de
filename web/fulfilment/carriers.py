"""Settings › Carriers: the list an operator maintains (admins add, edit and delete carriers).

htmx requests get the `#carriers` section back; a plain form post gets the whole Settings page. A
refused form comes back with what was typed and a message per field.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from models.core.bounds import row_id_or_none
from models.core.errors import Conflict, FieldErrors
from models.fulfilment.carriers import (
    CarrierForm,
    code_channels,
    create_carrier,
    delete_carrier,
    form_of,
    get_carrier,
    list_carriers,
    update_carrier,
)
from web.auth import require_admin
from web.form_body import FORM, form_version
from web.pages import fragment, is_htmx
from web.system.settings_page import SettingsController


def form_from(data: dict[str, Any]) -> CarrierForm:
    return CarrierForm(
        name=str(data.get("name", "")),
        tracking_url_pattern=str(data.get("tracking_url_pattern", "")),
        tracking_number_pattern=str(data.get("tracking_number_pattern", "")),
        codes={c: str(v) for k, v in data.items() if k.startswith("code_") and (c := row_id_or_none(k[5:]))},
        version=form_version(data, "carrier"),
    )


async def answer(
    request: Request,
    status_code: int = 200,
    message: str = "",
    carrier_form: CarrierForm | None = None,
    carrier_errors: dict[str, str] | None = None,
    editing: int | None = None,
) -> Template:
    """The Carriers section (htmx) or the Settings page, with a message or a form shown again."""
    context: dict[str, Any] = {
        "carrier_message": message,
        "carrier_form": carrier_form or CarrierForm(),
        "carrier_errors": carrier_errors or {},
        "editing": editing,
    }
    if not is_htmx(request):
        return await SettingsController._page(request, status_code, **context)
    context.update(carriers=await list_carriers(), carrier_channels=await code_channels())
    return await fragment(request, "settings/_carriers.html", status_code=status_code, **context)


class CarriersController(Controller):
    path = "/settings/carriers"
    include_in_schema = False

    @get("/")
    async def section(self, request: Request) -> Template | Redirect:
        """The section as it is (the form's Cancel)."""
        if not is_htmx(request):
            return Redirect("/settings#carriers")
        return await answer(request)

    @get("/{carrier_id:int}/edit", guards=[require_admin])
    async def edit(self, request: Request, carrier_id: FromPath[int]) -> Template:
        carrier = await get_carrier(carrier_id)
        return await answer(request, carrier_form=form_of(carrier), editing=carrier_id)

    @post("/", guards=[require_admin])
    async def add(self, request: Request, data: FORM) -> Template:
        form = form_from(data)
        try:
            await create_carrier(form)
        except FieldErrors as exc:
            return await answer(request, 422, exc.message, form, exc.errors)
        return await answer(request, message=f"Carrier {' '.join(form.name.split())} added.")

    @post("/{carrier_id:int}", guards=[require_admin])
    async def save(self, request: Request, carrier_id: FromPath[int], data: FORM) -> Template:
        form = form_from(data)
        try:
            await update_carrier(carrier_id, form, form.version)
        except FieldErrors as exc:
            return await answer(request, 422, exc.message, form, exc.errors, editing=carrier_id)
        except Conflict as exc:  # another admin saved first: their change stays, this form keeps what was typed
            return await answer(request, 409, exc.message, form, {"version": exc.message}, editing=carrier_id)
        return await answer(request, message=f"Carrier {' '.join(form.name.split())} saved.")

    @post("/{carrier_id:int}/delete", guards=[require_admin])
    async def delete(self, request: Request, carrier_id: FromPath[int]) -> Template:
        name = await delete_carrier(carrier_id)
        return await answer(request, message=f"Carrier {name} deleted. Shipments that used it keep its name.")
